//! Durability: every record the emulator acknowledges is written to SQLite before the answer leaves, so a
//! restart (even after `kill -9`) finds every pipeline, execution, step, callback answer, idempotency
//! token and issued STS session again, and running executions carry on from where they were.
//!
//! Records are stored as JSON documents keyed by their identity; steps have their own rows so a step
//! transition rewrites one small row, not the whole execution.

use std::path::Path;

use rusqlite::{params, Connection};
use serde_json::Value;

use crate::engine::CachedRun;
use crate::error::EmulatorError;
use crate::sessions::Session;
use crate::sqs::queue::{Message, Queue};
use crate::state::{Execution, Pipeline, StepRun};

pub struct Db {
    conn: Connection,
}

/// Everything read back at start-up.
pub struct Loaded {
    pub pipelines: Vec<Pipeline>,
    pub executions: Vec<Execution>,
    pub idempotency: Vec<(String, String, Value)>,
    pub cache: Vec<(String, String, String, CachedRun)>,
    pub scenario: Option<String>,
    /// Issued STS sessions, oldest first.
    pub sessions: Vec<Session>,
    /// SQS queues with their messages.
    pub queues: Vec<Queue>,
    /// The model registry's rows (`ops::registry::restore` reads them).
    pub registry: Vec<(String, Value)>,
}

impl Db {
    pub fn open(dir: &Path) -> Result<Db, EmulatorError> {
        std::fs::create_dir_all(dir).map_err(|source| EmulatorError::DataDir { dir: dir.to_path_buf(), source })?;
        let path = dir.join("emulator.sqlite3");
        let conn = Connection::open(&path).map_err(|source| EmulatorError::Open { path: path.clone(), source })?;
        // WAL with synchronous=NORMAL: a committed transaction survives the process being killed.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS pipelines (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS executions (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS steps (execution TEXT NOT NULL, idx INTEGER NOT NULL, doc TEXT NOT NULL,
                                               PRIMARY KEY (execution, idx));
             CREATE TABLE IF NOT EXISTS idempotency (operation TEXT NOT NULL, token TEXT NOT NULL, doc TEXT NOT NULL,
                                                     PRIMARY KEY (operation, token));
             CREATE TABLE IF NOT EXISTS cache (pipeline TEXT NOT NULL, step TEXT NOT NULL, key TEXT NOT NULL,
                                               execution TEXT NOT NULL, finished REAL NOT NULL, doc TEXT NOT NULL,
                                               PRIMARY KEY (pipeline, step, key, execution));
             CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS sqs_queues (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS registry (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS sqs_messages (queue TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
                                                      PRIMARY KEY (queue, id));",
        )
        .map_err(|source| EmulatorError::Open { path, source })?;
        Ok(Db { conn })
    }

    pub fn load(&self) -> Result<Loaded, EmulatorError> {
        let err = EmulatorError::Read;
        let corrupt = |what: &'static str| move |source| EmulatorError::Corrupt { what, source };
        let mut pipelines = vec![];
        let mut stmt = self.conn.prepare("SELECT doc FROM pipelines").map_err(err)?;
        for doc in stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)? {
            let doc = doc.map_err(err)?;
            pipelines.push(serde_json::from_str(&doc).map_err(corrupt("pipeline"))?);
        }
        let mut executions: Vec<Execution> = vec![];
        let mut stmt = self.conn.prepare("SELECT doc FROM executions").map_err(err)?;
        for doc in stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)? {
            let doc = doc.map_err(err)?;
            executions.push(serde_json::from_str(&doc).map_err(corrupt("execution"))?);
        }
        let mut stmt = self.conn.prepare("SELECT doc FROM steps WHERE execution = ?1 ORDER BY idx").map_err(err)?;
        for ex in &mut executions {
            let rows = stmt.query_map([&ex.id], |r| r.get::<_, String>(0)).map_err(err)?;
            for doc in rows {
                let doc = doc.map_err(err)?;
                let mut step: StepRun = serde_json::from_str(&doc).map_err(corrupt("step"))?;
                step.dirty = false;
                ex.steps.push(step);
            }
        }
        let mut idempotency = vec![];
        let mut stmt = self.conn.prepare("SELECT operation, token, doc FROM idempotency").map_err(err)?;
        for row in stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(err)?
        {
            let (op, token, doc) = row.map_err(err)?;
            idempotency.push((op, token, serde_json::from_str(&doc).unwrap_or(Value::Null)));
        }
        let mut cache = vec![];
        let mut stmt =
            self.conn.prepare("SELECT pipeline, step, key, execution, finished, doc FROM cache").map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(err)?;
        for row in rows {
            let (pipeline, step, key, execution_arn, finished, doc) = row.map_err(err)?;
            let doc: Value = serde_json::from_str(&doc).unwrap_or(Value::Null);
            cache.push((
                pipeline,
                step,
                key,
                CachedRun {
                    execution_arn,
                    finished,
                    metadata: doc.get("metadata").cloned().filter(|m| !m.is_null()),
                    properties: doc.get("properties").cloned().unwrap_or(Value::Null),
                    property_files: doc.get("property_files").cloned().unwrap_or(Value::Null),
                },
            ));
        }
        let scenario = self
            .conn
            .query_row("SELECT value FROM settings WHERE name = 'scenario'", [], |r| r.get::<_, String>(0))
            .ok();
        let mut sessions: Vec<Session> = vec![];
        let mut stmt = self.conn.prepare("SELECT doc FROM sessions").map_err(err)?;
        for doc in stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)? {
            let doc = doc.map_err(err)?;
            sessions.push(serde_json::from_str(&doc).map_err(corrupt("session"))?);
        }
        sessions.sort_by(|a, b| a.issued.total_cmp(&b.issued));
        let mut queues: Vec<Queue> = vec![];
        let mut stmt = self.conn.prepare("SELECT doc FROM sqs_queues").map_err(err)?;
        for doc in stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)? {
            let doc = doc.map_err(err)?;
            queues.push(serde_json::from_str(&doc).map_err(corrupt("queue"))?);
        }
        let mut stmt = self.conn.prepare("SELECT doc FROM sqs_messages WHERE queue = ?1").map_err(err)?;
        for q in &mut queues {
            for doc in stmt.query_map([&q.name], |r| r.get::<_, String>(0)).map_err(err)? {
                let m: Message = serde_json::from_str(&doc.map_err(err)?).map_err(corrupt("message"))?;
                q.restore(m);
            }
        }
        let mut registry = vec![];
        let mut stmt = self.conn.prepare("SELECT key, doc FROM registry").map_err(err)?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(err)? {
            let (key, doc) = row.map_err(err)?;
            registry.push((key, serde_json::from_str(&doc).map_err(corrupt("registry"))?));
        }
        Ok(Loaded { pipelines, executions, idempotency, cache, scenario, sessions, queues, registry })
    }

    /// Apply a batch of writes in one transaction.
    pub fn write(&mut self, batch: &[Write<'_>]) -> Result<(), EmulatorError> {
        if batch.is_empty() {
            return Ok(());
        }
        let err = EmulatorError::Write;
        let tx = self.conn.transaction().map_err(err)?;
        for w in batch {
            match w {
                Write::Pipeline(p) => {
                    let doc = serde_json::to_string(p).map_err(EmulatorError::Encode)?;
                    tx.execute(
                        "INSERT OR REPLACE INTO pipelines (name, doc) VALUES (?1, ?2)",
                        params![p.name.to_lowercase(), doc],
                    )
                    .map_err(err)?;
                }
                Write::DeletePipeline(name) => {
                    tx.execute("DELETE FROM pipelines WHERE name = ?1", params![name.to_lowercase()]).map_err(err)?;
                }
                Write::Execution { execution, all_steps } => {
                    // The execution row holds the execution without its steps; each step has a row of its own.
                    let mut head = serde_json::to_value(execution).map_err(EmulatorError::Encode)?;
                    head["steps"] = Value::Array(vec![]);
                    let doc = head.to_string();
                    tx.execute(
                        "INSERT OR REPLACE INTO executions (id, doc) VALUES (?1, ?2)",
                        params![execution.id, doc],
                    )
                    .map_err(err)?;
                    for (i, s) in execution.steps.iter().enumerate() {
                        if *all_steps || s.dirty {
                            let doc = serde_json::to_string(s).map_err(EmulatorError::Encode)?;
                            tx.execute(
                                "INSERT OR REPLACE INTO steps (execution, idx, doc) VALUES (?1, ?2, ?3)",
                                params![execution.id, i as i64, doc],
                            )
                            .map_err(err)?;
                        }
                    }
                }
                Write::DeleteExecution(id) => {
                    tx.execute("DELETE FROM executions WHERE id = ?1", params![id]).map_err(err)?;
                    tx.execute("DELETE FROM steps WHERE execution = ?1", params![id]).map_err(err)?;
                }
                Write::Idempotency { operation, token, response } => {
                    tx.execute(
                        "INSERT OR REPLACE INTO idempotency (operation, token, doc) VALUES (?1, ?2, ?3)",
                        params![operation, token, response.to_string()],
                    )
                    .map_err(err)?;
                }
                Write::Cache { pipeline, step, key, run } => {
                    let doc = serde_json::json!({"metadata": run.metadata, "properties": run.properties, "property_files": run.property_files});
                    tx.execute(
                        "INSERT OR REPLACE INTO cache (pipeline, step, key, execution, finished, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![pipeline, step, key, run.execution_arn, run.finished, doc.to_string()],
                    )
                    .map_err(err)?;
                }
                Write::Scenario(text) => {
                    tx.execute("INSERT OR REPLACE INTO settings (name, value) VALUES ('scenario', ?1)", params![text])
                        .map_err(err)?;
                }
                Write::Session(session) => {
                    let doc = serde_json::to_string(session).map_err(EmulatorError::Encode)?;
                    tx.execute(
                        "INSERT OR REPLACE INTO sessions (key, doc) VALUES (?1, ?2)",
                        params![session.access_key, doc],
                    )
                    .map_err(err)?;
                }
                Write::Queue(q) => {
                    let doc = serde_json::to_string(q).map_err(EmulatorError::Encode)?;
                    tx.execute("INSERT OR REPLACE INTO sqs_queues (name, doc) VALUES (?1, ?2)", params![q.name, doc])
                        .map_err(err)?;
                }
                Write::Message { queue, message } => {
                    let doc = serde_json::to_string(message).map_err(EmulatorError::Encode)?;
                    tx.execute(
                        "INSERT OR REPLACE INTO sqs_messages (queue, id, doc) VALUES (?1, ?2, ?3)",
                        params![queue, message.id, doc],
                    )
                    .map_err(err)?;
                }
                Write::ForgetMessage { queue, id } => {
                    tx.execute("DELETE FROM sqs_messages WHERE queue = ?1 AND id = ?2", params![queue, id])
                        .map_err(err)?;
                }
                Write::ForgetSession(key) => {
                    tx.execute("DELETE FROM sessions WHERE key = ?1", params![key]).map_err(err)?;
                }
                Write::Registry { key, doc } => {
                    tx.execute(
                        "INSERT OR REPLACE INTO registry (key, doc) VALUES (?1, ?2)",
                        params![key, doc.to_string()],
                    )
                    .map_err(err)?;
                }
                Write::Reset => {
                    tx.execute_batch(
                        "DELETE FROM pipelines; DELETE FROM executions; DELETE FROM steps; DELETE FROM idempotency;
                         DELETE FROM cache; DELETE FROM settings; DELETE FROM sessions;
                         DELETE FROM sqs_queues; DELETE FROM sqs_messages; DELETE FROM registry;",
                    )
                    .map_err(err)?;
                }
            }
        }
        tx.commit().map_err(err)
    }
}

/// One change to write down.
pub enum Write<'a> {
    Pipeline(&'a Pipeline),
    DeletePipeline(&'a str),
    /// With `all_steps` false only the steps marked dirty are written.
    Execution {
        execution: &'a Execution,
        all_steps: bool,
    },
    DeleteExecution(&'a str),
    Idempotency {
        operation: &'a str,
        token: &'a str,
        response: &'a Value,
    },
    Cache {
        pipeline: &'a str,
        step: &'a str,
        key: &'a str,
        run: &'a CachedRun,
    },
    Scenario(&'a str),
    Session(&'a Session),
    ForgetSession(&'a str),
    /// A model registry record: `group/<name>`, `created/<group>/<version>` or `update/<group>/<version>`.
    Registry {
        key: &'a str,
        doc: &'a Value,
    },
    /// An SQS queue's attributes (its messages are rows of their own).
    Queue(&'a Queue),
    Message {
        queue: &'a str,
        message: &'a Message,
    },
    ForgetMessage {
        queue: &'a str,
        id: &'a str,
    },
    Reset,
}
