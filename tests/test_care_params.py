"""CareParams and ReferralShares: validation, the share of a role, the import path."""

import pytest
from pydantic import ValidationError

from popsim.care.params import CareParams, ReferralShares


@pytest.mark.parametrize(
    ("field", "value"),
    [("surge_share", -0.1), ("divert_at", 0.1), ("max_transfer_minutes", -1), ("beds", 3)],
)
def test_care_params_reject_out_of_range_or_unknown_fields(field, value):
    with pytest.raises(ValidationError, match=field):
        CareParams(**{field: value})


@pytest.mark.parametrize("role", ["stabilisation", "community", "regional", "tertiary"])
def test_p_refer_rejects_shares_outside_0_1_and_unknown_roles(role):
    with pytest.raises(ValidationError, match=role):
        CareParams(p_refer={role: 1.5})
    with pytest.raises(ValidationError, match="hospice"):
        CareParams(p_refer={"hospice": 0.5})


def test_a_role_without_a_share_refers_nobody_and_defaults_are_by_role():
    shares = ReferralShares(community=0.4)
    assert shares.of("community") == 0.4 and shares.of("stabilisation") == 1.0
    assert shares.of("tertiary") == 0.0 and shares.of("hospice") == 0.0
