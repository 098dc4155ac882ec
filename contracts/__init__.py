"""The published language of Relais: everything that crosses a process
boundary, written once and imported by every side.

- ``contracts.vocabulary``: the shared words (space kinds, slots, roles, ...);
- ``contracts.events``: one payload schema per event type, with its version, and
  the registry every publisher dumps with and every consumer loads with;
- ``contracts.rpc.<service>``: what each service's RPCs accept and return (the
  gateway validates and documents HTTP with the same schemas);
- ``contracts.tokens``: what the gateway must know of identity's tokens and secrets;
- ``contracts.scim``: the SCIM 2.0 protocol constants the gateway shares with identity.

It imports marshmallow, the standard library and ``common``'s pure schema
helpers: never a service, never nameko (tests/unit/test_architecture.py).
"""
