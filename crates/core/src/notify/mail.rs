//! E-mail: a message with a plain-text and an HTML part, sent over SMTP (lettre) with STARTTLS required, or
//! TLS from the first byte, or — only to a relay on loopback — plain; authenticated when a user is given.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use stepline_types::notify::Event;

use super::message::{self, Links};
use super::settings::{Email, MailTls};

/// Why a message was not sent, and whether trying again may help (a 4xx answer or no connection may; a
/// 5xx answer will not).
#[derive(Debug)]
pub struct Failure {
    pub error: String,
    pub transient: bool,
}

fn failure(error: impl Into<String>, transient: bool) -> Failure {
    Failure { error: error.into(), transient }
}

pub async fn send(m: &Email, event: &Event, links: &Links, delivery_id: &str) -> Result<(), Failure> {
    let (text, html) = (message::text(event, links), message::email_html(event, links));
    send_parts(m, &event.title(), text, html, delivery_id).await
}

/// A message of this subject with these parts (a digest's, or one event's).
pub async fn send_parts(
    m: &Email,
    subject: &str,
    text: String,
    html: String,
    delivery_id: &str,
) -> Result<(), Failure> {
    let mut builder = Message::builder()
        .from(m.from.parse::<Mailbox>().map_err(|e| failure(format!("from: {e}"), false))?)
        .subject(subject)
        // The delivery id, for a reader (or a filter) to drop a repeat: delivery is at least once.
        .message_id(Some(format!("<{delivery_id}@stepline>")));
    for to in &m.to {
        builder = builder.to(to.parse::<Mailbox>().map_err(|e| failure(format!("to: {e}"), false))?);
    }
    let email = builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| failure(format!("the message: {e}"), false))?;
    let transport = transport(m)?;
    match transport.send(email).await {
        Ok(_) => Ok(()),
        Err(e) => {
            // lettre's message names the server's answer, never the password.
            let transient = !e.is_permanent();
            Err(failure(format!("SMTP: {e}"), transient))
        }
    }
}

fn transport(m: &Email) -> Result<AsyncSmtpTransport<Tokio1Executor>, Failure> {
    let tls = || -> Result<TlsParameters, Failure> {
        let mut p = TlsParameters::builder(m.host.clone());
        if let Some(pem) = &m.ca_pem {
            let ca = Certificate::from_pem(pem).map_err(|e| failure(format!("ca-file: {e}"), false))?;
            p = p.add_root_certificate(ca);
        }
        p.build_rustls().map_err(|e| failure(format!("TLS: {e}"), false))
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&m.host).port(m.port).tls(match m.tls {
        MailTls::Starttls => Tls::Required(tls()?),
        MailTls::Tls => Tls::Wrapper(tls()?),
        MailTls::None => Tls::None,
    });
    if let (Some(user), Some(password)) = (&m.user, &m.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_string()));
    }
    Ok(builder.timeout(Some(std::time::Duration::from_secs(10))).build())
}
