-- The schema of the previous release (SCHEMA_VERSION 1), dumped from a file it created.
-- Kept verbatim: the migration test builds a real v1 file from it.
PRAGMA journal_mode = WAL;
CREATE TABLE "transactions" (
   "key_hash" TEXT PRIMARY KEY NOT NULL,
   "client_id" TEXT NOT NULL,
   "redirect_uri" TEXT NOT NULL,
   "state" TEXT,
   "code_challenge" TEXT NOT NULL,
   "code_challenge_method" TEXT NOT NULL,
   "scope" TEXT NOT NULL,
   "resource" TEXT,
   "expires_at" REAL NOT NULL,
   "status" TEXT NOT NULL,
   "platform_url" TEXT,
   "ib_login_token" TEXT,
   "started_at" REAL NOT NULL,
   "last_polled_at" REAL NOT NULL,
   "error" TEXT,
   "redirect_to" TEXT
) STRICT;
CREATE INDEX "idx_transactions_expires_at"
    ON "transactions" ("expires_at");
CREATE TABLE "grants" (
   "grant_id" TEXT PRIMARY KEY NOT NULL,
   "client_id" TEXT NOT NULL,
   "scope" TEXT NOT NULL,
   "resource" TEXT,
   "sid_ciphertext" BLOB NOT NULL,
   "platform_url" TEXT NOT NULL,
   "api_v3_url" TEXT NOT NULL,
   "ib_client_id" TEXT NOT NULL,
   "user" TEXT NOT NULL,
   "expires_at" REAL NOT NULL,
   "created_at" REAL NOT NULL,
   "last_used_at" REAL NOT NULL,
   "refresh_count" INTEGER NOT NULL,
   "revoked" INTEGER NOT NULL
) STRICT;
CREATE INDEX "idx_grants_expires_at"
    ON "grants" ("expires_at");
CREATE TABLE "codes" (
   "key_hash" TEXT PRIMARY KEY NOT NULL,
   "grant_id" TEXT NOT NULL,
   "client_id" TEXT NOT NULL,
   "redirect_uri" TEXT NOT NULL,
   "code_challenge" TEXT NOT NULL,
   "code_challenge_method" TEXT NOT NULL,
   "scope" TEXT NOT NULL,
   "resource" TEXT,
   "expires_at" REAL NOT NULL,
   "used" INTEGER NOT NULL
) STRICT;
CREATE INDEX "idx_codes_expires_at"
    ON "codes" ("expires_at");
CREATE TABLE "refresh_tokens" (
   "key_hash" TEXT PRIMARY KEY NOT NULL,
   "grant_id" TEXT NOT NULL,
   "client_id" TEXT NOT NULL,
   "scope" TEXT NOT NULL,
   "expires_at" REAL NOT NULL,
   "used" INTEGER NOT NULL
) STRICT;
CREATE INDEX "idx_refresh_tokens_expires_at"
    ON "refresh_tokens" ("expires_at");
CREATE INDEX "idx_codes_grant_id"
    ON "codes" ("grant_id");
CREATE INDEX "idx_refresh_tokens_grant_id"
    ON "refresh_tokens" ("grant_id");
PRAGMA user_version = 1;
