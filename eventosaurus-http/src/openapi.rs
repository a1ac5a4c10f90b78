//! The OpenAPI 3 description of the routes, served at `/openapi.json`.

use serde_json::{json, Value};

/// The document, with the served tables as the values of `{tables}`.
pub(crate) fn document(tables: &[String]) -> Value {
    let error = json!({"$ref": "#/components/schemas/Error"});
    let error_response = |description: &str| json!({"description": description, "content": {"application/json": {"schema": error}}});
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "eventosaurus HTTP stream",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Stored events as they are stored, as Server-Sent Events or NDJSON, \
                            read from the tables' DynamoDB streams. Read-only."
        },
        "paths": {
            "/v2/stream/{tables}": {
                "get": {
                    "summary": "Follow the events of one or more tables",
                    "description": "SSE by default: each event has `event: <table>`, `id: <opaque \
                        resume position>` and `data: <one JSON object>`; comments (`: ...`) are \
                        heartbeats and notices. With `Accept: application/json` the answer is \
                        NDJSON, one event per line (blank lines are heartbeats). Without `since` \
                        or `Last-Event-ID` the stream starts at the newest event.",
                    "parameters": [
                        {
                            "name": "tables", "in": "path", "required": true,
                            "description": "Logical table names, comma-separated",
                            "schema": {"type": "string"},
                            "examples": tables.iter().map(|t| (t.clone(), json!({"value": t}))).collect::<serde_json::Map<_, _>>()
                        },
                        {
                            "name": "since", "in": "query", "required": false,
                            "description": "Start at the first event created at or after this time: \
                                milliseconds since the epoch, or an ISO-8601 date or date-time. \
                                Before the stream's 24 h retention: the oldest retained event (said \
                                in a leading comment); in the future: the first new event at or \
                                after it.",
                            "schema": {"type": "string"}
                        },
                        {
                            "name": "Last-Event-ID", "in": "header", "required": false,
                            "description": "The `id` of the last event received: resumes right \
                                after it in every requested table, with no gap and no repeat. \
                                Takes precedence over `since`.",
                            "schema": {"type": "string"}
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The never-ending stream of events",
                            "content": {
                                "text/event-stream": {"schema": {"type": "string"}},
                                "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/Event"}}
                            }
                        },
                        "400": error_response("Bad `since` or `Last-Event-ID`"),
                        "404": error_response("Unknown table; `available` lists the tables served"),
                        "503": error_response("Too many clients, shutting down, or the table's stream cannot be read")
                    }
                }
            },
            "/v2/streams": {
                "get": {
                    "summary": "The tables served, with their attributes",
                    "responses": {"200": {"description": "The tables", "content": {"application/json": {"schema": {"type": "object"}}}}}
                }
            },
            "/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3"}}}
            },
            "/healthz": {
                "get": {"summary": "Liveness, clients and live readers", "responses": {"200": {"description": "{\"status\":\"ok\",..}"}}}
            },
            "/": {
                "get": {"summary": "A live page following a stream in the browser", "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}}}
            }
        },
        "components": {
            "schemas": {
                "Event": {
                    "type": "object",
                    "description": "The event's attributes, plus its table",
                    "required": ["event_uuid", "created_at", "table"],
                    "properties": {
                        "event_uuid": {"type": "string", "format": "uuid"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "table": {"type": "string", "enum": tables}
                    },
                    "additionalProperties": true
                },
                "Error": {
                    "type": "object",
                    "required": ["error", "status"],
                    "properties": {
                        "error": {"type": "string"},
                        "status": {"type": "integer"},
                        "available": {"type": "array", "items": {"type": "string"}}
                    }
                }
            }
        }
    })
}
