from .labels import gather_labels
from .outputs import as_tuple, dry_run_outputs

__all__ = ['gather_labels', 'as_tuple', 'dry_run_outputs']
