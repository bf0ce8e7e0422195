"""gradcost: what does reverse-mode differentiation in Theano cost?"""

__version__ = "0.1.0"
