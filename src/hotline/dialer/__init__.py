"""The outbound dialer: which contacts to call, and how fast.

Pure code with an explicit clock (issue 15); the live dialler that runs it on the node is
``hotline.services.campaign_dialler`` (docs/dialer.md):

* :mod:`hotline.dialer.pacing`: a campaign's live state and the pacing policies behind one
  interface (a registry): preview, progressive, and predictive pacing that keeps the
  expected abandon rate under the campaign's cap (3 % of answered calls by default, no
  agent within 2 s of the answer counting as abandoned);
* :mod:`hotline.dialer.estimates`: what a campaign learns online (answer probability, ring,
  talk and wrap-up times), with cautious priors and censoring of calls still running;
* :mod:`hotline.dialer.vicidial_adapt`: VICIdial's ``ADAPT_TAPERED`` loop, the benchmark;
* :mod:`hotline.dialer.simulation`: a seeded simulation of a campaign under any policy
  (``hotline dialer simulate``, ``bench/dialer/run``);
* contacts: :mod:`~hotline.dialer.contact_lists` (CSV/XLSX import),
  :mod:`~hotline.dialer.numbers` (E.164), :mod:`~hotline.dialer.calling_hours` (in the
  contact's zone), :mod:`~hotline.dialer.retry_rules`, :mod:`~hotline.dialer.do_not_call`
  and :mod:`~hotline.dialer.hopper` (whom to dial next);
* :mod:`hotline.dialer.live_campaign`: one running campaign's attempts, outcomes and
  figures, fed the node's events.
"""

# Importing the policies registers them (``pacing.create_policy`` finds them by name).
from hotline.dialer import pacing, vicidial_adapt

__all__ = ["pacing", "vicidial_adapt"]
