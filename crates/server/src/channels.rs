//! How notices leave the platform: one [`Sender`] per channel behind one interface — SMS (the
//! server's `SmsSender`, or an HTTP gateway), e-mail (SMTP through lettre), and WeChat template
//! messages (an official account's API) — each answering whether a failure is worth retrying.
//! The inbox needs no sender: its notices are delivered when written.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gridkeeper_domain::notices::Channel;
use gridkeeper_store::Outgoing;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use crate::sms::SmsSender;
use crate::App;

/// Why a send failed, and whether trying again may help.
pub struct Failure {
    pub error: String,
    pub again: bool,
}

impl Failure {
    fn again(error: impl Into<String>) -> Self {
        Self { error: error.into(), again: true }
    }
    fn never(error: impl Into<String>) -> Self {
        Self { error: error.into(), again: false }
    }
}

/// One way out. `n.address` is the channel's address (a phone, an e-mail, an openid).
#[async_trait]
pub trait Sender: Send + Sync {
    async fn send(&self, app: &App, n: &Outgoing) -> Result<(), Failure>;
}

/// The senders of the configured channels.
pub struct Channels {
    senders: HashMap<Channel, Box<dyn Sender>>,
}

impl Channels {
    pub fn new(app: &App) -> Result<Self, String> {
        let s = &app.settings.notices;
        let timeout = Duration::from_secs(s.timeout_seconds.max(1));
        let client = http_client(app).map_err(|e| e.to_string())?;
        let mut senders: HashMap<Channel, Box<dyn Sender>> = HashMap::new();
        let sms: Box<dyn Sender> = match &s.sms_gateway_url {
            Some(url) => {
                Box::new(SmsGateway { client: client.clone(), url: url.clone(), token: s.sms_gateway_token.clone() })
            }
            None => Box::new(SmsThrough(app.sms.clone())),
        };
        senders.insert(Channel::Sms, sms);
        if let Some(url) = &s.smtp_url {
            let mail = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| e.to_string())?
                .timeout(Some(timeout))
                .build();
            senders.insert(Channel::Email, Box::new(Smtp { mail, from: s.mail_from.clone() }));
        }
        if let (Some(api), Some(template)) = (WechatApi::of(app, client), &s.wechat_template_id) {
            senders.insert(
                Channel::Wechat,
                Box::new(Wechat { api, template: template.clone(), token: tokio::sync::Mutex::new(None) }),
            );
        }
        Ok(Self { senders })
    }

    pub async fn send(&self, app: &App, n: &Outgoing) -> Result<(), Failure> {
        match (n.channel, self.senders.get(&n.channel)) {
            (Channel::Inbox, _) => Ok(()),
            (_, Some(sender)) => sender.send(app, n).await,
            (c, None) => Err(Failure::never(format!("the {} channel is not configured", c.as_str()))),
        }
    }
}

/// The HTTP client of the gateways and APIs notices go through: the configured timeout, no
/// redirects.
pub fn http_client(app: &App) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(app.settings.notices.timeout_seconds.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gridkeeper-notices/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// SMS through the server's own sender (the log sender of the demo and the tests).
struct SmsThrough(Arc<dyn SmsSender>);

#[async_trait]
impl Sender for SmsThrough {
    async fn send(&self, _: &App, n: &Outgoing) -> Result<(), Failure> {
        self.0.send(&n.address, &format!("{} {}", n.subject, n.body)).map_err(Failure::again)
    }
}

/// SMS through an HTTP gateway: `POST {"id", "to", "text"}`, the id also in `Idempotency-Key`.
struct SmsGateway {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

#[async_trait]
impl Sender for SmsGateway {
    async fn send(&self, _: &App, n: &Outgoing) -> Result<(), Failure> {
        let id = format!("notice-{}", n.id);
        let text = format!("{} {}", n.subject, n.body);
        let mut req = self
            .client
            .post(&self.url)
            .header("idempotency-key", &id)
            .json(&serde_json::json!({ "id": id, "to": n.address, "text": text }));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let status = req.send().await.map_err(|e| Failure::again(format!("the SMS gateway: {e}")))?.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            408 | 429 => Err(Failure::again(format!("the SMS gateway answered {status}"))),
            400..=499 => Err(Failure::never(format!("the SMS gateway refused it: {status}"))),
            _ => Err(Failure::again(format!("the SMS gateway answered {status}"))),
        }
    }
}

/// `List-Unsubscribe: <url>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim_matches(['<', '>']).to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct OneClick;

impl Header for OneClick {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

/// E-mail through an SMTP server, with a one-click unsubscribe from that kind of notice.
struct Smtp {
    mail: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
}

#[async_trait]
impl Sender for Smtp {
    async fn send(&self, app: &App, n: &Outgoing) -> Result<(), Failure> {
        let to = n.address.parse().map_err(|e| Failure::never(format!("the address: {e}")))?;
        let from = self.from.parse().map_err(|e| Failure::never(format!("server.notices.mail_from: {e}")))?;
        let base = app.settings.public_url().map_err(|e| Failure::never(e.to_string()))?;
        let host = reqwest::Url::parse(&base).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        let mut body = format!("{}\n\n{}\n", n.body, n.link);
        let mut message = Message::builder()
            .from(from)
            .to(to)
            .subject(n.subject.clone())
            .message_id(Some(format!("<notice-{}@{}>", n.id, host)));
        if let Some(person) = n.person {
            let token = crate::notices::unsubscribe_token(app, person, n.kind);
            body.push_str(if n.locale == "en" { "\nStop these e-mails: " } else { "\n不再接收此类邮件：" });
            body.push_str(&format!("{base}/unsubscribe?token={token}\n"));
            let api = format!("{base}/api/v1/notices/unsubscribe?token={token}");
            message = message.header(ListUnsubscribe(api)).header(OneClick);
        }
        let message = message.body(body).map_err(|e| Failure::never(e.to_string()))?;
        match self.mail.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(Failure::never(format!("the mail server refused it: {e}"))),
            Err(e) => Err(Failure::again(format!("the mail server: {e}"))),
        }
    }
}

/// The WeChat official account API: an access token (kept until shortly before it expires) and
/// the exchange of a web page's authorisation code for the openid of the person who gave it.
pub struct WechatApi {
    client: reqwest::Client,
    base: String,
    app_id: String,
    secret: String,
}

#[derive(Deserialize)]
struct WechatAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    access_token: Option<String>,
    expires_in: Option<u64>,
    openid: Option<String>,
}

impl WechatApi {
    /// The configured official account's API, through `client`; `None` when not configured.
    pub fn of(app: &App, client: reqwest::Client) -> Option<Self> {
        let s = &app.settings.notices;
        Some(Self {
            client,
            base: s.wechat_api_url.as_deref()?.trim_end_matches('/').to_string(),
            app_id: s.wechat_app_id.clone()?,
            secret: s.wechat_app_secret.clone()?,
        })
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<WechatAnswer, Failure> {
        let r = self.client.get(format!("{}{path}", self.base)).query(query).send().await;
        let a: WechatAnswer = r
            .map_err(|e| Failure::again(format!("WeChat: {e}")))?
            .json()
            .await
            .map_err(|e| Failure::again(format!("WeChat answered something else: {e}")))?;
        if a.errcode != 0 {
            return Err(Failure::never(format!("WeChat refused it: {} {}", a.errcode, a.errmsg)));
        }
        Ok(a)
    }

    /// The openid of whoever gave this authorisation code (`snsapi_base`).
    pub async fn openid(&self, code: &str) -> Result<String, String> {
        let q = [
            ("appid", self.app_id.as_str()),
            ("secret", &self.secret),
            ("code", code),
            ("grant_type", "authorization_code"),
        ];
        let a = self.get("/sns/oauth2/access_token", &q).await.map_err(|f| f.error)?;
        a.openid.ok_or_else(|| "WeChat answered no openid".to_string())
    }

    async fn token(&self) -> Result<(String, Instant), Failure> {
        let q = [("grant_type", "client_credential"), ("appid", self.app_id.as_str()), ("secret", &self.secret)];
        let a = self.get("/cgi-bin/token", &q).await?;
        let token = a.access_token.ok_or_else(|| Failure::again("WeChat answered no access token"))?;
        // Renewed five minutes before it expires (two hours by default).
        let life = a.expires_in.unwrap_or(7200).saturating_sub(300);
        Ok((token, Instant::now() + Duration::from_secs(life)))
    }
}

/// WeChat template messages to the openid a person bound.
struct Wechat {
    api: WechatApi,
    template: String,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

#[async_trait]
impl Sender for Wechat {
    async fn send(&self, app: &App, n: &Outgoing) -> Result<(), Failure> {
        let token = {
            let mut kept = self.token.lock().await;
            match kept.as_ref() {
                Some((t, until)) if Instant::now() < *until => t.clone(),
                _ => {
                    let fresh = self.api.token().await?;
                    *kept = Some(fresh.clone());
                    fresh.0
                }
            }
        };
        let at = gridkeeper_domain::time::local_time(app.now(), app.settings.utc_offset_hours);
        let body = serde_json::json!({
            "touser": n.address,
            "template_id": self.template,
            "url": n.link,
            "data": {
                "first": { "value": n.subject },
                "keyword1": { "value": n.subject },
                "keyword2": { "value": at },
                "remark": { "value": n.body },
            },
        });
        let url = format!("{}/cgi-bin/message/template/send", self.api.base);
        let r = self.api.client.post(url).query(&[("access_token", token.as_str())]).json(&body).send().await;
        let a: WechatAnswer = r
            .map_err(|e| Failure::again(format!("WeChat: {e}")))?
            .json()
            .await
            .map_err(|e| Failure::again(format!("WeChat answered something else: {e}")))?;
        match a.errcode {
            0 => Ok(()),
            // An expired or invalid token: forget it and try again with a new one.
            40001 | 42001 => {
                *self.token.lock().await = None;
                Err(Failure::again(format!("WeChat: the access token expired ({})", a.errmsg)))
            }
            // The person unfollowed the account, or the template is gone: retrying will not help.
            43004 | 40003 | 40037 => Err(Failure::never(format!("WeChat refused it: {} {}", a.errcode, a.errmsg))),
            code => Err(Failure::again(format!("WeChat answered {code} {}", a.errmsg))),
        }
    }
}
