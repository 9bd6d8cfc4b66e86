namespace Herald.Server.Storage;

/// <summary>
/// Versioned schema migrations, shared by SQLite and PostgreSQL. A migration runs once, in a transaction,
/// and records its version; <c>{ID}</c> stands for the dialect's auto-numbered primary key.
/// </summary>
/// <remarks>Never edit a migration that has shipped; add the next one.</remarks>
internal static class Schema
{
    public static readonly IReadOnlyList<(int Version, string Sql)> Migrations =
    [
        (1, """
            CREATE TABLE operators (
                id {ID},
                email TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL
            );
            CREATE TABLE assistants (
                id {ID},
                name TEXT NOT NULL,
                operator_id BIGINT NULL REFERENCES operators(id),
                created_at BIGINT NOT NULL
            );
            CREATE TABLE dialogs (
                id {ID},
                assistant_id BIGINT NOT NULL REFERENCES assistants(id),
                guest_id TEXT NULL,
                created_at BIGINT NOT NULL,
                last_message_at BIGINT NULL,
                last_message_text TEXT NULL,
                last_message_sender TEXT NULL,
                unread_count BIGINT NOT NULL DEFAULT 0
            );
            CREATE UNIQUE INDEX ix_dialogs_guest ON dialogs (assistant_id, guest_id);
            CREATE TABLE messages (
                id {ID},
                dialog_id BIGINT NOT NULL REFERENCES dialogs(id),
                sender TEXT NOT NULL,
                text TEXT NOT NULL,
                created_at BIGINT NOT NULL
            );
            CREATE INDEX ix_messages_dialog ON messages (dialog_id, id);
            -- The event log: ids are handed out from herald_sequences inside the writing transaction, so they
            -- are gapless and in commit order on every node (see EventWriter).
            CREATE TABLE events (
                id BIGINT NOT NULL PRIMARY KEY,
                topic TEXT NOT NULL,
                type TEXT NOT NULL,
                data TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                event_key BIGINT NOT NULL DEFAULT 0
            );
            CREATE INDEX ix_events_topic ON events (topic, id);
            CREATE TABLE herald_sequences (
                name TEXT NOT NULL PRIMARY KEY,
                value BIGINT NOT NULL
            );
            INSERT INTO herald_sequences (name, value) VALUES ('events', 0);
            -- The highest event id retention has removed from each topic: a resume from below it gets `reset`.
            CREATE TABLE topic_horizons (
                topic TEXT NOT NULL PRIMARY KEY,
                trimmed_through BIGINT NOT NULL
            );
            """),
        (2, """
            -- Widget tokens (seed 000): bound to an assistant and to domains. A token records the assistant's
            -- domains_version when issued; editing the assistant's domains bumps it, which makes older tokens
            -- answer "domains changed". Only a SHA-256 of the token is stored.
            ALTER TABLE assistants ADD COLUMN allowed_domains TEXT NOT NULL DEFAULT '[]';
            ALTER TABLE assistants ADD COLUMN domains_version BIGINT NOT NULL DEFAULT 1;
            ALTER TABLE assistants ADD COLUMN require_verified_identity BIGINT NOT NULL DEFAULT 0;
            ALTER TABLE assistants ADD COLUMN identity_secret TEXT NULL;
            CREATE TABLE widget_tokens (
                id {ID},
                assistant_id BIGINT NOT NULL REFERENCES assistants(id),
                token_hash TEXT NOT NULL UNIQUE,
                token_hint TEXT NOT NULL,
                allowed_domains TEXT NOT NULL,
                domains_version BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                created_by BIGINT NULL,
                revoked_at BIGINT NULL
            );
            CREATE INDEX ix_widget_tokens_assistant ON widget_tokens (assistant_id);
            """),
        (3, """
            -- Idempotent posting: a client that retries a POST after a network error (the node died before it
            -- answered) sends the same client_message_id and gets the original message back instead of a second one.
            ALTER TABLE messages ADD COLUMN client_message_id TEXT NULL;
            CREATE UNIQUE INDEX ix_messages_client_id ON messages (dialog_id, client_message_id);
            """),
        (4, """
            -- Where the visitor of a dialog is, for its operators: the page they last wrote from, how they came to it
            -- and their browser. One row per dialog, replaced by the widget (at most once per page view).
            CREATE TABLE dialog_visitors (
                dialog_id BIGINT NOT NULL PRIMARY KEY REFERENCES dialogs(id),
                page_url TEXT NULL,
                referrer TEXT NULL,
                user_agent TEXT NULL,
                updated_at BIGINT NOT NULL
            );
            """),
        (5, """
            -- A team's inbox (issue 19, item 10): a dialog is open or resolved and may be assigned to one operator;
            -- a visitor writing to a resolved dialog reopens it. An operator has a display name, the only thing of
            -- them a visitor sees (NULL: derived from the email's local part, OperatorAccountRules.DisplayNameOf).
            -- An operator's message keeps who wrote it and their name as it was then, so that the history a
            -- visitor reads never needs the operators table (nor could leak an email from it).
            ALTER TABLE operators ADD COLUMN display_name TEXT NULL;
            ALTER TABLE dialogs ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
            ALTER TABLE dialogs ADD COLUMN assignee_id BIGINT NULL REFERENCES operators(id);
            ALTER TABLE messages ADD COLUMN author_id BIGINT NULL;
            ALTER TABLE messages ADD COLUMN author_name TEXT NULL;
            CREATE INDEX ix_dialogs_status ON dialogs (status, assignee_id);
            """),
    ];
}
