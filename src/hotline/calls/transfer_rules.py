"""Which outside numbers a transfer, consultation or conference may reach: toll-fraud rules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hotline.calls.numbers import NumberingPlan, is_premium, region_of


class ExternalTransferRules(BaseModel):
    """Which outside numbers a transfer may reach, and through which trunk group.

    Toll fraud is the classic PBX abuse: a transfer key that dials anywhere lets whoever
    reaches an agent (or steals a phone's password) call premium and international numbers
    on the company's bill. So, by default, a transfer reaches numbers of the numbering
    plan's own region only: the region the number is in (libphonenumber's ranges), not its
    country calling code, which several countries share (+1 876 is Jamaica, +44 1534
    Jersey, +7 701 Kazakhstan: classic fraud destinations under a home code). Premium-rate
    and shared-cost numbers are refused even at home unless ``allow_premium``; international
    numbers and service short codes (no E.164 form: 110, 95588, premium SMS) only if a
    prefix allows them. An ``allowed_prefixes`` entry wins over these rules;
    ``blocked_prefixes`` win over everything (e.g. a national premium-rate range).
    Prefixes are written in normalized form: ``+44``, ``+86168``, ``95588``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trunk_group: str | None = Field(
        default=None,
        description="the group transfers dial through; default the first (click-to-call's)",
    )
    allow_national: bool = True
    allow_international: bool = False
    allow_premium: bool = Field(
        default=False, description="premium-rate and shared-cost numbers (surcharged)"
    )
    allowed_prefixes: tuple[str, ...] = ()
    blocked_prefixes: tuple[str, ...] = ()

    def refusal(self, number: str, plan: NumberingPlan) -> str | None:
        """Why a transfer may not reach the normalized ``number`` (None: it may)."""
        if any(number.startswith(prefix) for prefix in self.blocked_prefixes):
            return f"transfers to {number} are blocked"
        if any(number.startswith(prefix) for prefix in self.allowed_prefixes):
            return None
        if not number.startswith("+"):
            return f"transfers to the short code {number} are not allowed"
        if is_premium(number) and not self.allow_premium:
            return f"transfers to the premium-rate number {number} are not allowed"
        if region_of(number) == plan.region.upper():
            return None if self.allow_national else f"transfers to {number} are not allowed"
        if self.allow_international:
            return None
        return f"international transfers are not allowed ({number})"
