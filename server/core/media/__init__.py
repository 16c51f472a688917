"""The media store and the way files get into it: checked, cleaned, stored and served.

Spec: https://www.w3.org/TR/micropub/#media-endpoint (§3.6). The Micropub feature's media
endpoint is one face of this package; silos' imports and webmention author photos use
it too.

* `files`: the store itself, files under data_dir/media with unguessable names, and their
  route (`store_media`, `media_url`, `stored_files`, `serve_media`, `routes`).
* `ingest`: the service every file from outside goes through (`ingest_bytes`,
  `ingest_upload`, `copy_remote_photo`, `discard`).
* `images`, `heic`, `video_location`: what a file is by its bytes, images checked and
  stripped, HEIC turned into JPEG, the recording location taken out of MP4/MOV files.
* `refusals`: why a file is refused (`MediaRefused` and a kind per reason), for callers to
  answer in their own terms.

Like the rest of the core it imports no feature.
"""
