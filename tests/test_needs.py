"""NeedBatch: building and joining the columns modules hand to the care network."""

import numpy as np
import pytest

from popsim.core.requests import EPI_CRITICAL, MEDICAL, NeedBatch


def test_build_broadcasts_scalars_to_every_resident():
    batch = NeedBatch.build(np.array([3, 5, 9]), MEDICAL, ward_days=4, dies=True)
    assert len(batch) == 3
    assert batch.kind.tolist() == [MEDICAL] * 3
    assert batch.ward_days.tolist() == [4, 4, 4]
    assert batch.dies.all() and not batch.elective.any()
    assert batch.resident.dtype == np.int32 and batch.icu_days.dtype == np.int16


def test_build_rejects_columns_of_the_wrong_length():
    with pytest.raises(ValueError):
        NeedBatch.build(np.array([1, 2, 3]), MEDICAL, ward_days=np.array([1, 2]))


def test_concat_keeps_order_and_skips_empty_batches():
    a = NeedBatch.build(np.array([1, 2]), MEDICAL, ward_days=np.array([3, 4]))
    b = NeedBatch.build(np.array([7]), EPI_CRITICAL, icu_days=5)
    joined = NeedBatch.concat([a, NeedBatch.empty(), b])
    assert joined.resident.tolist() == [1, 2, 7]
    assert joined.kind.tolist() == [MEDICAL, MEDICAL, EPI_CRITICAL]
    assert joined.icu_days.tolist() == [0, 0, 5]
    assert len(NeedBatch.concat([])) == 0
