"""Instagram: PESOS copies, the permashortcitation comment, comment backfeed and webhooks.

Modules: `client` speaks the Instagram API with Instagram Login (`graph` holds its answers'
shapes, `api_errors` reads its error objects and usage headers); `account` and `connect` hold
the connected account (CLI and admin OAuth); `poll` and `pesos` copy media home; `comments`
posts the first comment and `retract` takes it back when the copy is deleted; `backfeed`
turns Instagram comments into responses; `webhook` receives Meta's signed deliveries and
`changes` acts on them; `export_zip`, `export_json` and `history` import the data-export
zip; `admin` is the dashboard section; `job_handlers` lists every job handler, and `silo`
is the value that plugs all of it into Hearth.

Publishing an own-site post to Instagram (content publishing,
https://developers.facebook.com/docs/instagram-platform/content-publishing) is not built:
Instagram runs the other way round here, so the silo offers no syndication target.
"""
