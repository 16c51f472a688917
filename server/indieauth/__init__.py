"""IndieAuth (https://indieauth.spec.indieweb.org/): the server, the client and delegation.

Issue #11 builds it over several steps. So far the package holds only pure building blocks,
with no I/O and no state: profile URL and client identifier rules (`profile_urls`), PKCE
(`pkce`), redirect URI checks and building (`redirects`) and scopes (`scopes`). Nothing is
wired yet: there is no `Feature`, no route and no advertised endpoint.
"""
