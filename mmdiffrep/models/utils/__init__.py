from .labels import UNLABELLED, gather_labels
from .outputs import as_tuple, dry_run_outputs

__all__ = ['UNLABELLED', 'gather_labels', 'as_tuple', 'dry_run_outputs']
