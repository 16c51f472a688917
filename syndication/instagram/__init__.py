"""Instagram: PESOS copies, the permashortcitation comment, comment backfeed and webhooks.

Modules: `client` speaks the Instagram API with Instagram Login (`graph` holds its answers'
shapes, `api_errors` reads its error objects and usage headers); `silo_settings` holds the
`HEARTH_INSTAGRAM_*` settings and `tables` the silo's own database tables; `account` is the
connected account and its token refresh, `connection` connects one (from the CLI and from
`connect`, the admin's OAuth); `poll` and `pesos` copy media home (`home_copy` stores a copy
all or nothing, `copied` follows media already home); `comments` posts the first comment,
`history_comments` on request for history, and `retract` takes it back when the copy is
deleted; `backfeed` turns Instagram comments into responses; `webhook` receives Meta's
signed deliveries and `changes` acts on them; `export_zip`, `export_json` and `history`
import the data-export zip, and `matching` pairs its posts with API copies; `admin` is the
dashboard section and `command_line` the `hearth instagram` subcommands; `job_handlers`
lists every job handler, and `silo` is the value that plugs all of it into Hearth. `fake` is
a stand-in Instagram on loopback for the tests, the benchmark and trying the round trip
without a Meta app (`python -m hearth.syndication.instagram.fake`).

Publishing an own-site post to Instagram (content publishing,
https://developers.facebook.com/docs/instagram-platform/content-publishing) is not built:
Instagram runs the other way round here, so the silo offers no syndication target.
"""
