"""The live telephony of one node: SIP legs, media endpoints and IVR sessions, driven by the
sans-IO :class:`~hotline.services.contact_center.ContactCenter`.

``ContactCenter`` decides and this runtime acts. Every input (a SIP call event, a key press,
the end of a prompt, an IVR decision, an ACD timer, an API request) is handed to the contact
centre synchronously, at the moment it happens, with ``now``; what comes back is split into
bus events (published at once) and commands for the wire. Commands run as jobs on a per-call
queue, one after another, because most of them wait for the media engine (allocate an
endpoint, then answer with its SDP; set the remote, then bridge): a call's commands must
never overtake each other, while one slow call must never hold up another.

A command that cannot be carried out any more (the leg hung up while its answer was being
prepared) is logged and dropped: the SIP event that made it moot has already reached the
contact centre, which decides what follows. Nothing here raises into the SIP stack or the
event loop.

Importers use the modules themselves (the package exports nothing); each imports only
those before it (docs/calls.md, "Live calls"):

- :mod:`~hotline.services.telephony.config`: ``TelephonyConfig``, the runtime's settings;
- :mod:`~hotline.services.telephony.state`: the per-call state every part shares
  (``LegState``, ``CallState``, ``CallTable``) and ``CallRuntime``, the parts' one way
  back into the facade;
- :mod:`~hotline.services.telephony.endpoints`: ``LegEndpoints``, the legs' media
  endpoints (allocate, remote, playback and its end, release with RTP statistics);
- :mod:`~hotline.services.telephony.recording`: ``CallRecorder``, start, pause, resume
  and stop of a call's recording, and its ``RecordingSaved``;
- :mod:`~hotline.services.telephony.caller_listening`: ``CallerListening``, speech answers
  and voicemails heard through media captures, each in a task of its own;
- :mod:`~hotline.services.telephony.ivr_port`: ``IvrPort``, IVR sessions, the commands
  their flows send, prompts and position announcements;
- :mod:`~hotline.services.telephony.executor`: ``CommandExecutor``, the contact centre's
  commands on legs and media (answer, ring, dial, cancel, hang up, bridge, mix, music);
- :mod:`~hotline.services.telephony.signalling`: ``CallSignalling``, SIP call events
  (INVITE, answers and failures, re-INVITE, REFER, BYE) as inputs to the contact centre;
- :mod:`~hotline.services.telephony.runtime`: ``Telephony``, the facade: lifecycle, the
  per-call job queues, the ACD timer and the media event stream.
"""
