from harness.config import Model


def tiny_model(**overrides) -> Model:
    fields = dict(input=5, hidden=(4, 3), output=3, activation="sigmoid",
                  loss="softmax_cross_entropy", biases=True, floatX="float64", batch=4)
    fields.update(overrides)
    return Model(**fields)
