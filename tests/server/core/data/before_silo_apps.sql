BEGIN TRANSACTION;
CREATE TABLE "admin_sessions" (
    "id_hash" VARCHAR(64) NOT NULL  PRIMARY KEY,
    "csrf_token" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "expires_at" TIMESTAMP NOT NULL
);
CREATE TABLE "domain_rules" (
    "domain" VARCHAR(255) NOT NULL  PRIMARY KEY,
    "rule" VARCHAR(8) NOT NULL,
    "created_at" TIMESTAMP NOT NULL
);
CREATE TABLE "instagram_accounts" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "user_id" VARCHAR(64) NOT NULL UNIQUE,
    "username" VARCHAR(255) NOT NULL,
    "access_token" TEXT NOT NULL,
    "token_expires_at" TIMESTAMP,
    "token_state" VARCHAR(16) NOT NULL,
    "last_error" TEXT,
    "paused_until" TIMESTAMP,
    "last_polled_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
);
INSERT INTO "instagram_accounts" VALUES(1,'17841400000000001','alice.example','IGQVJ-token',NULL,'ok',NULL,NULL,NULL,'2026-05-01 09:00:00+00:00','2026-05-01 09:00:00+00:00');
CREATE TABLE "instagram_imports" (
    "key" VARCHAR(64) NOT NULL  PRIMARY KEY,
    "source" VARCHAR(16) NOT NULL,
    "published" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "post_id" INT REFERENCES "posts" ("id") ON DELETE SET NULL
);
CREATE TABLE "instagram_media" (
    "media_id" VARCHAR(64) NOT NULL  PRIMARY KEY,
    "permalink" VARCHAR(512),
    "media_type" VARCHAR(32),
    "timestamp" TIMESTAMP,
    "caption" TEXT,
    "like_count" INT,
    "comment_id" VARCHAR(64),
    "comment_short_code" VARCHAR(32),
    "copy_state" VARCHAR(16) NOT NULL,
    "last_error" TEXT,
    "comments_polled_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "post_id" INT REFERENCES "posts" ("id") ON DELETE SET NULL
);
INSERT INTO "instagram_media" VALUES('m1','https://www.instagram.com/p/AAA111/','IMAGE',NULL,NULL,42,NULL,NULL,'copied',NULL,NULL,'2026-05-01 10:00:00+00:00','2026-05-01 10:00:00+00:00',1);
CREATE TABLE "jobs" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(64) NOT NULL,
    "payload" JSON NOT NULL,
    "idempotency_key" VARCHAR(255) NOT NULL UNIQUE,
    "state" VARCHAR(7) NOT NULL  /* QUEUED: queued\nRUNNING: running\nDONE: done\nDEAD: dead */,
    "attempts" INT NOT NULL,
    "max_attempts" INT NOT NULL,
    "run_at" TIMESTAMP NOT NULL,
    "lease_owner" VARCHAR(128),
    "lease_expires_at" TIMESTAMP,
    "last_error" TEXT,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "finished_at" TIMESTAMP
, "postponed_since" TIMESTAMP);
CREATE TABLE "login_failures" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "address" VARCHAR(64) NOT NULL,
    "at" TIMESTAMP NOT NULL
);
CREATE TABLE "media" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(128) NOT NULL UNIQUE,
    "content_type" VARCHAR(128) NOT NULL,
    "size" BIGINT NOT NULL,
    "sha256" VARCHAR(64) NOT NULL,
    "original_name" VARCHAR(255),
    "created_at" TIMESTAMP NOT NULL
);
CREATE TABLE "micropub_receipts" (
    "key" VARCHAR(128) NOT NULL  PRIMARY KEY,
    "created_at" TIMESTAMP NOT NULL,
    "post_id" INT NOT NULL REFERENCES "posts" ("id") ON DELETE CASCADE
, "request_digest" VARCHAR(64));
CREATE TABLE "outgoing_webmentions" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "target" VARCHAR(2048) NOT NULL,
    "target_hash" VARCHAR(64) NOT NULL,
    "state" VARCHAR(16) NOT NULL,
    "endpoint" VARCHAR(2048),
    "status_code" INT,
    "last_error" TEXT,
    "updated_at" TIMESTAMP NOT NULL,
    "post_id" INT NOT NULL REFERENCES "posts" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_outgoing_we_post_id_eed8a6" UNIQUE ("post_id", "target_hash")
);
CREATE TABLE "path_redirects" (
    "path" VARCHAR(255) NOT NULL  PRIMARY KEY,
    "post_id" INT NOT NULL REFERENCES "posts" ("id") ON DELETE CASCADE
);
CREATE TABLE "post_categories" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "post_id" INT NOT NULL REFERENCES "posts" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_post_catego_post_id_42800b" UNIQUE ("post_id", "name")
);
CREATE TABLE "posts" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "path" VARCHAR(255) NOT NULL UNIQUE,
    "short_code" VARCHAR(32) NOT NULL UNIQUE,
    "h_type" VARCHAR(32) NOT NULL,
    "properties" JSON NOT NULL,
    "post_type" VARCHAR(32) NOT NULL,
    "published" TIMESTAMP NOT NULL,
    "updated" TIMESTAMP,
    "status" VARCHAR(9) NOT NULL  /* PUBLISHED: published\nDRAFT: draft */,
    "visibility" VARCHAR(8) NOT NULL  /* PUBLIC: public\nUNLISTED: unlisted\nPRIVATE: private */,
    "deleted_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "modified_at" TIMESTAMP NOT NULL
, "client_id" VARCHAR(512), "syndicate_to" JSON);
INSERT INTO "posts" VALUES(1,'2026/05/sunset','p5my1','entry','{"content": ["Sunset"]}','photo','2026-05-01 10:00:00+00:00',NULL,'published','public',NULL,'2026-05-01 10:00:00+00:00','2026-05-01 10:00:00+00:00',NULL,NULL);
CREATE TABLE "responses" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "origin" VARCHAR(32) NOT NULL,
    "source" VARCHAR(2048) NOT NULL,
    "target" VARCHAR(2048) NOT NULL,
    "source_target_hash" VARCHAR(64) NOT NULL UNIQUE,
    "state" VARCHAR(8) NOT NULL  /* PENDING: pending\nACCEPTED: accepted\nREJECTED: rejected\nDELETED: deleted */,
    "reason" TEXT,
    "approval" VARCHAR(8) NOT NULL  /* WAITING: waiting\nAPPROVED: approved\nHIDDEN: hidden */,
    "status_token" VARCHAR(64) NOT NULL UNIQUE,
    "domain" VARCHAR(255) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "rsvp" VARCHAR(16),
    "author_name" VARCHAR(512),
    "author_url" VARCHAR(2048),
    "author_photo" VARCHAR(2048),
    "content_html" TEXT,
    "content_text" TEXT,
    "url" VARCHAR(2048),
    "published" TIMESTAMP,
    "identities" JSON,
    "external_id" VARCHAR(128),
    "mf2" JSON,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "verified_at" TIMESTAMP,
    "duplicate_of_id" INT REFERENCES "responses" ("id") ON DELETE SET NULL,
    "parent_id" INT REFERENCES "responses" ("id") ON DELETE SET NULL,
    "post_id" INT REFERENCES "posts" ("id") ON DELETE CASCADE
);
CREATE TABLE "site_settings" (
    "key" VARCHAR(128) NOT NULL  PRIMARY KEY,
    "value" JSON NOT NULL
);
CREATE TABLE "tokens" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "prefix" VARCHAR(16) NOT NULL,
    "me" VARCHAR(512) NOT NULL,
    "client_id" VARCHAR(512),
    "scope" VARCHAR(1024) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "expires_at" TIMESTAMP,
    "last_used_at" TIMESTAMP,
    "revoked_at" TIMESTAMP
);
CREATE TABLE "tortoise_migrations" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "app" VARCHAR(255) NOT NULL,
    "name" VARCHAR(255) NOT NULL,
    "applied_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_tortoise_mi_app_3803a5" UNIQUE ("app", "name")
);
INSERT INTO "tortoise_migrations" VALUES(1,'models','0001_initial','2026-12-07 00:59:00.515255+00:00');
INSERT INTO "tortoise_migrations" VALUES(2,'models','0002_micropub','2026-12-07 00:59:00.530873+00:00');
INSERT INTO "tortoise_migrations" VALUES(3,'models','0003_webmention','2026-12-07 00:59:00.571658+00:00');
INSERT INTO "tortoise_migrations" VALUES(4,'models','0004_instagram','2026-12-07 00:59:00.587218+00:00');
INSERT INTO "tortoise_migrations" VALUES(5,'models','0005_instagram_export','2026-12-07 00:59:00.597490+00:00');
INSERT INTO "tortoise_migrations" VALUES(6,'models','0006_job_postponed_since','2026-12-07 00:59:00.606618+00:00');
INSERT INTO "tortoise_migrations" VALUES(7,'models','0007_receipt_request_digest','2026-12-07 00:59:00.618218+00:00');
CREATE INDEX "idx_jobs_kind_d0563f" ON "jobs" ("kind");
CREATE INDEX "idx_jobs_state_32c766" ON "jobs" ("state");
CREATE INDEX "idx_jobs_run_at_ded031" ON "jobs" ("run_at");
CREATE INDEX "idx_jobs_lease_e_045721" ON "jobs" ("lease_expires_at");
CREATE INDEX "idx_jobs_state_2f9db8" ON "jobs" ("state", "run_at");
CREATE INDEX "idx_login_failu_address_6b365a" ON "login_failures" ("address");
CREATE INDEX "idx_login_failu_at_cfd6ec" ON "login_failures" ("at");
CREATE INDEX "idx_media_sha256_f4860a" ON "media" ("sha256");
CREATE INDEX "idx_media_created_ea8984" ON "media" ("created_at");
CREATE INDEX "idx_posts_post_ty_2bcaab" ON "posts" ("post_type");
CREATE INDEX "idx_posts_publish_df478b" ON "posts" ("published");
CREATE INDEX "idx_posts_status_061f42" ON "posts" ("status");
CREATE INDEX "idx_posts_visibil_4ac2de" ON "posts" ("visibility");
CREATE INDEX "idx_posts_deleted_6217fb" ON "posts" ("deleted_at");
CREATE INDEX "idx_posts_status_2a28e5" ON "posts" ("status", "visibility", "deleted_at", "published");
CREATE INDEX "idx_post_catego_name_5117c5" ON "post_categories" ("name");
CREATE INDEX "idx_micropub_re_created_9c7ca3" ON "micropub_receipts" ("created_at");
CREATE INDEX "idx_outgoing_we_state_7ff64b" ON "outgoing_webmentions" ("state");
CREATE INDEX "idx_responses_origin_8b2bed" ON "responses" ("origin");
CREATE INDEX "idx_responses_state_4fa14c" ON "responses" ("state");
CREATE INDEX "idx_responses_approva_db50bf" ON "responses" ("approval");
CREATE INDEX "idx_responses_domain_180de9" ON "responses" ("domain");
CREATE INDEX "idx_responses_kind_e6ba6b" ON "responses" ("kind");
CREATE INDEX "idx_responses_externa_b2e7f3" ON "responses" ("external_id");
CREATE INDEX "idx_responses_post_id_2f7488" ON "responses" ("post_id", "state", "approval");
CREATE INDEX "idx_instagram_m_timesta_d90437" ON "instagram_media" ("timestamp");
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('tortoise_migrations',7);
INSERT INTO "sqlite_sequence" VALUES('posts',1);
INSERT INTO "sqlite_sequence" VALUES('instagram_accounts',1);
COMMIT;
