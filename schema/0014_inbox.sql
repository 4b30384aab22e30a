-- The inbox (issue 14): documents that arrive by upload or mail, what was read from them, the
-- review case of each invoice among them, and the log of every intake.
--
-- The received file is a document (0001: blob by blake3, never changed); an item refers to it
-- and keeps the extraction beside it. A review case holds the invoice to book (the body of
-- POST /v1/invoices without vendor_id) until it is approved — then the incoming invoice and its
-- booking are written in the approving transaction — or rejected.

-- Each tenant's inbox address: <local_part>@KONTOR_INBOX_DOMAIN. The local part carries a
-- random token, so it cannot be guessed from the slug.
CREATE TABLE inbox_addresses (
    tenant_id   uuid PRIMARY KEY REFERENCES tenants (id),
    local_part  text NOT NULL UNIQUE CHECK (local_part = lower(local_part) AND length(local_part) BETWEEN 8 AND 64),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE inbox_items (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    document_id      uuid NOT NULL,
    -- The document's blake3: a file that arrives again is recognised, not extracted twice.
    document_hash    bytea NOT NULL,
    status           text NOT NULL
                         CHECK (status IN ('received', 'extracted', 'failed', 'confirmed', 'rejected')),
    -- 'upload' (POST /v1/inbox) or 'email' (kontor inbox deliver).
    channel          text NOT NULL CHECK (channel IN ('upload', 'email')),
    ocr_extraction   jsonb,
    ocr_raw          text,
    vendor_match     jsonb,
    compliance_check jsonb,
    failure          text,
    source_email     text,
    source_subject   text,
    original_name    text NOT NULL,
    reject_reason    text,
    created_by       jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id),
    CHECK ((status = 'failed') = (failure IS NOT NULL))
);
CREATE UNIQUE INDEX inbox_items_hash ON inbox_items (tenant_id, document_hash);
CREATE INDEX inbox_items_list ON inbox_items (tenant_id, created_at DESC, id DESC);

CREATE TABLE invoice_review_cases (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    id                 uuid NOT NULL,
    inbox_item_id      uuid NOT NULL,
    queue_state        text NOT NULL
                           CHECK (queue_state IN ('needs_review', 'approved', 'rejected', 'posting_failed')),
    vendor_id          uuid,
    normalized_invoice jsonb NOT NULL CHECK (jsonb_typeof(normalized_invoice) = 'object'),
    vendor_candidates  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(vendor_candidates) = 'array'),
    posting_errors     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(posting_errors) = 'array'),
    invoice_id         uuid,
    intent_id          uuid,
    reject_reason      text,
    decided_by         jsonb,
    decided_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, inbox_item_id),
    FOREIGN KEY (tenant_id, inbox_item_id) REFERENCES inbox_items (tenant_id, id),
    FOREIGN KEY (tenant_id, vendor_id) REFERENCES partners (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    CHECK ((queue_state = 'approved') = (invoice_id IS NOT NULL))
);
CREATE INDEX invoice_review_cases_list ON invoice_review_cases (tenant_id, created_at DESC, id DESC);

-- Every intake and decision, append-only.
CREATE TABLE ingestion_log (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    outcome         text NOT NULL
                        CHECK (outcome IN ('extracted', 'duplicate', 'failed', 'approved', 'rejected')),
    channel         text NOT NULL CHECK (channel IN ('upload', 'email', 'review')),
    inbox_item_id   uuid,
    review_case_id  uuid,
    document_id     uuid,
    original_name   text,
    source_email    text,
    source          text,
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX ingestion_log_list ON ingestion_log (tenant_id, created_at DESC, id DESC);
