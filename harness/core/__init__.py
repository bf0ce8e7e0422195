"""What both sides of the process boundary share: the model, its parameters and data, cases,
the registry of frameworks, strategies and phases, FLOP counts, order statistics, core affinity.

Standard library and NumPy only; runs on every Python a measured release needs.
"""
