//! The "your grid member" card (issue 17): what a grid member's or leader's card shows besides
//! their name (a photo, office hours, whether their work phone may be shown), and the short
//! messages people send them through the platform — the sender's name, phone and the text sealed.

use async_trait::async_trait;
use gridkeeper_domain::{FieldError, Millis, PersonId, RegionCode};
use serde::Serialize;
use sqlx::Row;

use crate::dialect::generic;
use crate::registry::PHONE;
use crate::{corrupt, parse_field, NewAudit, Result, StoreError};

const SENDER_NAME: &str = "contact_messages.sender_name";
const SENDER_PHONE: &str = "contact_messages.sender_phone";
const BODY: &str = "contact_messages.body";

/// What a person's card shows besides their name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CardProfile {
    /// The id of an image in `media`.
    pub photo: Option<String>,
    pub office_hours: Option<String>,
    /// The person consented to show their work phone on the card.
    pub phone_public: bool,
}

/// A message to be sent to a grid member or leader.
#[derive(Debug, Clone)]
pub struct NewContactMessage {
    pub recipient: PersonId,
    /// The grid the sender asked about.
    pub grid: RegionCode,
    /// The signed-in sender, if any.
    pub sender: Option<PersonId>,
    pub sender_name: Option<String>,
    /// How to reach the sender (required of someone not signed in).
    pub sender_phone: Option<String>,
    pub body: String,
    pub created_at: Millis,
}

/// A message as its recipient reads it, in clear.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactMessage {
    pub id: i64,
    pub recipient: PersonId,
    pub grid: RegionCode,
    pub sender: Option<PersonId>,
    pub sender_name: Option<String>,
    pub sender_phone: Option<String>,
    pub body: String,
    pub created_at: Millis,
    pub read_at: Option<Millis>,
}

/// How many messages one sender may send in a window.
#[derive(Debug, Clone, Copy)]
pub struct MessageLimit {
    pub since: Millis,
    pub max: u32,
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    /// The card of a person (`None`: no such person).
    async fn card_profile(&self, person: PersonId) -> Result<Option<CardProfile>>;
    /// Replaces the card of a person, with its audit entry (an admin's change) in the same
    /// transaction. A photo must be an image in `media` (`Invalid` naming `photo` otherwise).
    async fn put_card_profile(&self, person: PersonId, card: &CardProfile, audit: Option<&NewAudit>) -> Result<()>;
    /// Whether the media is the photo of someone's card (public, as the card is).
    async fn is_card_photo(&self, media: &str) -> Result<bool>;
    /// Stores a message unless its sender (the person, or else the phone left) already sent
    /// `limit.max` since `limit.since`: then `None`.
    async fn send_contact_message(&self, m: &NewContactMessage, limit: MessageLimit) -> Result<Option<i64>>;
    /// The messages to a person, newest first, before the message `before` when given.
    async fn contact_messages(
        &self,
        recipient: PersonId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ContactMessage>>;
    async fn unread_contact_messages(&self, recipient: PersonId) -> Result<u64>;
    /// Marks a message to `recipient` read; `false` when they have no such message.
    async fn read_contact_message(&self, recipient: PersonId, id: i64, now: Millis) -> Result<bool>;
    /// Deletes the messages sent before `before` (the retention period of personal data).
    async fn forget_contact_messages(&self, before: Millis) -> Result<u64>;
}

generic! {
    impl SqlStore {
        fn sender_key(&self, m: &NewContactMessage) -> Result<String> {
            match (m.sender, m.sender_phone.as_deref()) {
                (Some(p), _) => Ok(format!("p:{p}")),
                (None, Some(phone)) => Ok(format!("c:{}", self.vault.blind_index(PHONE, phone))),
                (None, None) => Err(StoreError::Invalid(FieldError::new("phone", "is required without signing in"))),
            }
        }

        fn message_row(&self, r: &D::Row) -> Result<ContactMessage> {
            let grid: String = r.try_get("grid")?;
            Ok(ContactMessage {
                id: r.try_get("id")?,
                recipient: r.try_get("recipient")?,
                grid: parse_field(RegionCode::parse(&grid))?,
                sender: r.try_get("sender")?,
                sender_name: self.vault.open_opt(SENDER_NAME, r.try_get("sender_name")?).map_err(corrupt)?,
                sender_phone: self.vault.open_opt(SENDER_PHONE, r.try_get("sender_phone")?).map_err(corrupt)?,
                body: self.vault.open(BODY, r.try_get("body")?).map_err(corrupt)?,
                created_at: r.try_get("created_at")?,
                read_at: r.try_get("read_at")?,
            })
        }
    }
}

generic! {
    #[async_trait]
    impl ContactStore for SqlStore {
        async fn card_profile(&self, person: PersonId) -> Result<Option<CardProfile>> {
            let Some(r) = sqlx::query("SELECT photo, office_hours, phone_public FROM people WHERE id = $1")
                .bind(person)
                .fetch_optional(&self.pool)
                .await?
            else {
                return Ok(None);
            };
            Ok(Some(CardProfile {
                photo: r.try_get("photo")?,
                office_hours: r.try_get("office_hours")?,
                phone_public: r.try_get("phone_public")?,
            }))
        }

        async fn put_card_profile(&self, person: PersonId, card: &CardProfile, audit: Option<&NewAudit>) -> Result<()> {
            let mut tx = self.begin_write().await?;
            if let Some(photo) = &card.photo {
                let image: Option<String> = sqlx::query_scalar("SELECT content_type FROM media WHERE id = $1")
                    .bind(photo)
                    .fetch_optional(&mut *tx)
                    .await?;
                if !image.is_some_and(|t| t.starts_with("image/")) {
                    return Err(StoreError::Invalid(FieldError::new("photo", format!("no uploaded image {photo}"))));
                }
            }
            let done = sqlx::query("UPDATE people SET photo = $1, office_hours = $2, phone_public = $3 WHERE id = $4")
                .bind(&card.photo)
                .bind(&card.office_hours)
                .bind(card.phone_public)
                .bind(person)
                .execute(&mut *tx)
                .await?;
            if D::rows_affected(&done) == 0 {
                return Err(StoreError::Invalid(FieldError::new("person", format!("no person {person}"))));
            }
            if let Some(a) = audit {
                Self::append_audit(&mut tx, a).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn is_card_photo(&self, media: &str) -> Result<bool> {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE photo = $1")
                .bind(media)
                .fetch_one(&self.pool)
                .await?;
            Ok(n > 0)
        }

        async fn send_contact_message(&self, m: &NewContactMessage, limit: MessageLimit) -> Result<Option<i64>> {
            let key = self.sender_key(m)?;
            let mut tx = self.begin_write().await?;
            // Two messages of one sender at once must not both pass the count.
            Self::lock(&mut tx, "contact_messages", "SHARE ROW EXCLUSIVE").await?;
            let sent: i64 =
                sqlx::query_scalar("SELECT count(*) FROM contact_messages WHERE sender_key = $1 AND created_at >= $2")
                    .bind(&key)
                    .bind(limit.since)
                    .fetch_one(&mut *tx)
                    .await?;
            if sent >= i64::from(limit.max) {
                return Ok(None);
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO contact_messages (recipient, grid, sender, sender_name, sender_phone, sender_key, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(m.recipient)
            .bind(m.grid.as_str())
            .bind(m.sender)
            .bind(self.vault.seal_opt(SENDER_NAME, m.sender_name.as_deref()))
            .bind(self.vault.seal_opt(SENDER_PHONE, m.sender_phone.as_deref()))
            .bind(&key)
            .bind(self.vault.seal(BODY, &m.body))
            .bind(m.created_at)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(id))
        }

        async fn contact_messages(
            &self,
            recipient: PersonId,
            before: Option<i64>,
            limit: u32,
        ) -> Result<Vec<ContactMessage>> {
            let rows = sqlx::query(
                "SELECT id, recipient, grid, sender, sender_name, sender_phone, body, created_at, read_at \
                 FROM contact_messages WHERE recipient = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            )
            .bind(recipient)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(|r| self.message_row(r)).collect()
        }

        async fn unread_contact_messages(&self, recipient: PersonId) -> Result<u64> {
            let n: i64 =
                sqlx::query_scalar("SELECT count(*) FROM contact_messages WHERE recipient = $1 AND read_at IS NULL")
                    .bind(recipient)
                    .fetch_one(&self.pool)
                    .await?;
            Ok(u64::try_from(n).unwrap_or(0))
        }

        async fn read_contact_message(&self, recipient: PersonId, id: i64, now: Millis) -> Result<bool> {
            let done = sqlx::query(
                "UPDATE contact_messages SET read_at = COALESCE(read_at, $1) WHERE recipient = $2 AND id = $3",
            )
            .bind(now)
            .bind(recipient)
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(D::rows_affected(&done) > 0)
        }

        async fn forget_contact_messages(&self, before: Millis) -> Result<u64> {
            let done = sqlx::query("DELETE FROM contact_messages WHERE created_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?;
            Ok(D::rows_affected(&done))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::on_both;
    use crate::{CaseStore, Media, NewPerson, PeopleStore};

    async fn person(s: &(impl PeopleStore + ?Sized), login: &str) -> PersonId {
        let p = NewPerson {
            login: login.into(),
            name: format!("{login} 姓名"),
            phone: Some("13912340001".into()).filter(|_| login == "member"),
            id_number: None,
            password_hash: None,
            grants: vec![],
        };
        s.create_person(&p, 1).await.unwrap()
    }

    fn message(to: PersonId, sender: Option<PersonId>, phone: Option<&str>, at: Millis) -> NewContactMessage {
        NewContactMessage {
            recipient: to,
            grid: RegionCode::parse("330483101001001").unwrap(),
            sender,
            sender_name: Some("李阿姨".into()),
            sender_phone: phone.map(str::to_string),
            body: "楼道灯坏了，什么时候能修？".into(),
            created_at: at,
        }
    }

    on_both! {
        async fn a_card_is_kept_and_its_photo_must_be_an_image(s) {
            let member = person(&s, "member").await;
            assert_eq!(s.card_profile(member).await.unwrap(), Some(CardProfile::default()));
            assert_eq!(s.card_profile(member + 100).await.unwrap(), None);
            let bad = CardProfile { photo: Some("nothing".into()), ..Default::default() };
            match s.put_card_profile(member, &bad, None).await {
                Err(StoreError::Invalid(f)) => assert_eq!(f.field, "photo"),
                other => panic!("{other:?}"),
            }
            s.insert_media(&Media {
                id: "face".into(),
                case_id: None,
                content_type: "image/jpeg".into(),
                width: 64,
                height: 64,
                bytes: 100,
                object_key: "face".into(),
                thumb_key: "face-t".into(),
                gps_lat: None,
                gps_lon: None,
                uploaded_by: Some(member),
                created_at: 1,
            })
            .await
            .unwrap();
            assert!(!s.is_card_photo("face").await.unwrap());
            let card = CardProfile { photo: Some("face".into()), office_hours: Some("周一至周五 9:00–17:00".into()), phone_public: true };
            let audit = NewAudit { at: 2, actor: None, action: "card".into(), object: Some(format!("person:{member}")), detail: serde_json::json!({}) };
            s.put_card_profile(member, &card, Some(&audit)).await.unwrap();
            assert_eq!(s.card_profile(member).await.unwrap(), Some(card));
            assert!(s.is_card_photo("face").await.unwrap());
            match s.put_card_profile(member + 100, &CardProfile::default(), None).await {
                Err(StoreError::Invalid(f)) => assert_eq!(f.field, "person"),
                other => panic!("{other:?}"),
            }
        }

        async fn messages_are_sealed_limited_per_sender_and_read_by_their_recipient(s) {
            let member = person(&s, "member").await;
            let resident = person(&s, "resident").await;
            let limit = MessageLimit { since: 0, max: 2 };
            let a = s.send_contact_message(&message(member, Some(resident), None, 10), limit).await.unwrap().unwrap();
            let b = s.send_contact_message(&message(member, None, Some("13812345678"), 11), limit).await.unwrap().unwrap();
            assert!(s.send_contact_message(&message(member, Some(resident), None, 12), limit).await.unwrap().is_some());
            // The third from the resident is over the limit; a later window lets them again.
            assert!(s.send_contact_message(&message(member, Some(resident), None, 13), limit).await.unwrap().is_none());
            let later = MessageLimit { since: 13, max: 2 };
            assert!(s.send_contact_message(&message(member, Some(resident), None, 14), later).await.unwrap().is_some());
            // Without signing in, a phone is required.
            assert!(matches!(
                s.send_contact_message(&message(member, None, None, 15), limit).await,
                Err(StoreError::Invalid(f)) if f.field == "phone"
            ));
            let got = s.contact_messages(member, None, 10).await.unwrap();
            assert_eq!(got.len(), 4);
            assert_eq!(got[3].id, a);
            assert_eq!(got[2], ContactMessage {
                id: b,
                recipient: member,
                grid: RegionCode::parse("330483101001001").unwrap(),
                sender: None,
                sender_name: Some("李阿姨".into()),
                sender_phone: Some("13812345678".into()),
                body: "楼道灯坏了，什么时候能修？".into(),
                created_at: 11,
                read_at: None,
            });
            assert_eq!(s.contact_messages(member, Some(b), 10).await.unwrap().len(), 1);
            assert!(s.contact_messages(resident, None, 10).await.unwrap().is_empty());
            assert_eq!(s.unread_contact_messages(member).await.unwrap(), 4);
            assert!(!s.read_contact_message(resident, a, 20).await.unwrap());
            assert!(s.read_contact_message(member, a, 20).await.unwrap());
            assert_eq!(s.unread_contact_messages(member).await.unwrap(), 3);
            // Nothing in clear in the stored rows.
            let raw: Vec<String> =
                sqlx::query_scalar("SELECT body FROM contact_messages").fetch_all(&s.pool).await.unwrap();
            assert!(raw.iter().all(|b| !b.contains("楼道")));
            let raw: Vec<Option<String>> =
                sqlx::query_scalar("SELECT sender_phone FROM contact_messages").fetch_all(&s.pool).await.unwrap();
            assert!(raw.iter().flatten().all(|p| !p.contains("13812345678")));
            // After the retention period they are gone.
            assert_eq!(s.forget_contact_messages(12).await.unwrap(), 2);
            assert_eq!(s.contact_messages(member, None, 10).await.unwrap().len(), 2);
        }
    }
}
