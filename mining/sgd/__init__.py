"""Distributed stochastic gradient descent (MMDS §12.2): models, losses, optimizers, trainer."""
