"""The outbound dialer: which contacts to call, and how fast.

Built so far (issue 15) is the pacing core, pure code with an explicit clock:

* :mod:`hotline.dialer.pacing`: a campaign's live state and the pacing policies behind one
  interface (a registry): preview, progressive, and predictive pacing that keeps the
  expected abandon rate under the campaign's cap (3 % of answered calls by default, no
  agent within 2 s of the answer counting as abandoned);
* :mod:`hotline.dialer.estimates`: what a campaign learns online (answer probability, ring,
  talk and wrap-up times), with cautious priors and censoring of calls still running;
* :mod:`hotline.dialer.vicidial_adapt`: VICIdial's ``ADAPT_TAPERED`` loop, the benchmark;
* :mod:`hotline.dialer.simulation`: a seeded simulation of a campaign under any policy
  (``hotline dialer simulate``, ``bench/dialer/run``).

Not built yet, and left for the next pieces of the issue: campaigns and their contact lists
(import, E.164 normalisation, duplicates), calling hours in the contact's time zone, retry
rules, do-not-call lists, dispositions and per-attempt CDRs, answering-machine detection,
robot (IVR) campaigns, blended and lent agents, the consoles, and the live path that turns
``calls_to_place`` into calls on the trunk groups (and carriers' 503s into
``CampaignState.carrier_rejected``).
"""

# Importing the policies registers them (``pacing.create_policy`` finds them by name).
from hotline.dialer import pacing, vicidial_adapt

__all__ = ["pacing", "vicidial_adapt"]
