from .labels import gather_labels

__all__ = ['gather_labels']
