"""The node's use cases, composed from the layers below: what the API and the protocol
adapters call. Pure where it can be (the contact centre is sans-IO); storage and the bus
are handed in by the composition root.
"""
