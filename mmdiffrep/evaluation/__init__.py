"""Evaluation of frozen representations: linear and k-NN probes (used by the analysis tools and
the evidence guards)."""
from .probes import knn_accuracy, linear_probe_accuracy

__all__ = ['knn_accuracy', 'linear_probe_accuracy']
