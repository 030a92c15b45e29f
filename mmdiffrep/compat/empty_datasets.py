"""A dataset that loads no samples is a clear error, not numpy's "need at least one array".

mmengine's ``BaseDataset`` serialises its data list with ``np.concatenate``; an empty list (an
empty annotation file, a split list whose entries match no image, or a ``filter_cfg`` that
removes everything) fails there with ``ValueError: need at least one array to concatenate``,
which names neither the dataset nor its annotation file. Every toolbox's datasets (mmpretrain
``CustomDataset``, mmseg ``BaseSegDataset``, mmpose ``CocoDataset``) inherit it. The fix
raises, at the same point, an error naming the dataset class, ``ann_file``, ``data_root`` and
``filter_cfg``. Guard: mmengine <= 0.10.7 (the versions with the defect).
"""
import mmengine
from mmengine.utils import digit_version


def needed(mmengine_version: str = mmengine.__version__) -> bool:
    return digit_version(mmengine_version) <= digit_version('0.10.7')


def _check_not_empty(serialize):

    def _serialize_data(self):
        if len(self.data_list) == 0:
            raise ValueError(
                f'{type(self).__name__} has no samples: ann_file={self.ann_file!r}, '
                f'data_root={self.data_root!r}, filter_cfg={self.filter_cfg!r}. Check that the '
                'annotation file lists samples and that they survive the filter')
        return serialize(self)

    _serialize_data._mmdiffrep_fixed = True
    return _serialize_data


def apply() -> None:
    if not needed():
        return
    from mmengine.dataset import BaseDataset
    if not hasattr(BaseDataset._serialize_data, '_mmdiffrep_fixed'):
        BaseDataset._serialize_data = _check_not_empty(BaseDataset._serialize_data)
