//! Residents as participants: the information service (articles that staff publish to a region
//! and everything under it), consultations on a draft (a rule, a civil agreement 村规民约, a
//! community plan) open for a period, and residents' proposals that go on the community's agenda
//! once enough people support them. What may be written and when; no I/O.

use serde::{Deserialize, Serialize};

use crate::{required_text, FieldError, Millis};

macro_rules! names {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }

            pub fn parse(s: &str) -> Result<Self, FieldError> {
                match s {
                    $($s => Ok($name::$v),)*
                    _ => Err(FieldError::new(
                        stringify!($name),
                        format!("`{s}` is not one of {}", [$($s),*].join(", ")),
                    )),
                }
            }
        }
    };
}

names! {
    /// What an article is: the information service and civic education of the seeds.
    ArticleKind {
        /// 通知公告
        Notice = "notice",
        /// 政策解读
        Policy = "policy",
        /// 以案说法
        LawCase = "law_case",
        /// 健康知识
        Health = "health",
        /// 身边榜样
        ModelPerson = "model_person",
        /// 社区活动
        Event = "event",
        /// 便民信息
        Livelihood = "livelihood",
    }
}

names! {
    /// What a consultation asks residents about.
    ConsultationKind {
        /// A rule or regulation (规章制度)
        Rule = "rule",
        /// A civil agreement of a village or community (村规民约)
        CivilAgreement = "civil_agreement",
        /// A community plan (社区规划)
        CommunityPlan = "community_plan",
        Other = "other",
    }
}

names! {
    /// A resident's vote on a consultation.
    Stance {
        Support = "support",
        Oppose = "oppose",
    }
}

names! {
    /// Where a proposal stands.
    ProposalStatus {
        /// Gathering support.
        Open = "open",
        /// Reached its threshold: on the community's agenda, to be answered by `due_at`.
        Agenda = "agenda",
        Accepted = "accepted",
        Declined = "declined",
        /// Withdrawn by its proposer before it was answered.
        Withdrawn = "withdrawn",
    }
}

names! {
    /// Who may see one field of a notable native's entry.
    Consent {
        /// Anyone, in the public directory.
        Public = "public",
        /// Staff of the platform.
        Staff = "staff",
        /// Only those who keep the directory of the native's home region.
        Private = "private",
    }
}

names! {
    /// What a notable native brings.
    LeadKind {
        /// 建言献策: advice or a proposal for the hometown.
        Proposal = "proposal",
        /// 招商线索: an investment lead.
        Investment = "investment",
        /// 捐资助学, 公益: a donation or public-interest project.
        Donation = "donation",
    }
}

names! {
    /// Where the follow-up of a lead stands.
    LeadStatus {
        New = "new",
        Following = "following",
        Done = "done",
        Dropped = "dropped",
    }
}

/// Whether a field with `consent` is shown to someone: anyone (`Public`), staff, or only the
/// keepers of the directory.
pub fn shown(consent: Consent, staff: bool, keeper: bool) -> bool {
    match consent {
        Consent::Public => true,
        Consent::Staff => staff || keeper,
        Consent::Private => keeper,
    }
}

/// The longest title of an article, consultation or proposal.
pub const MAX_TITLE: usize = 120;
/// The longest summary of an article.
pub const MAX_SUMMARY: usize = 300;
/// The longest body of an article or a consultation's draft (HTML, after sanitising).
pub const MAX_BODY: usize = 100_000;
/// The longest proposal, comment, answer or moderation reason (plain text).
pub const MAX_TEXT: usize = 4_000;
/// The longest comment on a consultation.
pub const MAX_COMMENT: usize = 2_000;

/// An article's times and title, checked.
pub fn check_article(
    title: &str,
    summary: Option<&str>,
    publish_at: Millis,
    expires_at: Option<Millis>,
) -> Result<(String, String), FieldError> {
    let title = required_text("title", title, MAX_TITLE)?;
    let summary = crate::optional_text("summary", summary, MAX_SUMMARY)?.unwrap_or_default();
    if expires_at.is_some_and(|e| e <= publish_at) {
        return Err(FieldError::new("expires_at", "must be later than publish_at"));
    }
    Ok((title, summary))
}

/// A body of sanitised HTML: not empty of text, not too long.
pub fn check_body(field: &str, html: &str) -> Result<(), FieldError> {
    if html.chars().count() > MAX_BODY {
        return Err(FieldError::new(field, format!("is longer than {MAX_BODY} characters")));
    }
    if text_of(html).trim().is_empty() && !html.contains("<img") {
        return Err(FieldError::new(field, "is required and may not be blank"));
    }
    Ok(())
}

/// The text of (sanitised) HTML: what lies outside its tags, for summaries and search.
pub fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether an article is shown to the public at `now`.
pub fn article_live(publish_at: Millis, expires_at: Option<Millis>, withdrawn: bool, now: Millis) -> bool {
    !withdrawn && publish_at <= now && expires_at.is_none_or(|e| now < e)
}

/// Where a consultation stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsultationPhase {
    /// Published, not yet open for votes and comments.
    Upcoming,
    /// Open: residents vote and comment.
    Open,
    /// Closed, the official answer not yet published.
    Closed,
    /// Closed with the official summary and answer.
    Answered,
}

impl ConsultationPhase {
    pub fn at(opens_at: Millis, closes_at: Millis, answered: bool, now: Millis) -> Self {
        if answered {
            ConsultationPhase::Answered
        } else if now < opens_at {
            ConsultationPhase::Upcoming
        } else if now < closes_at {
            ConsultationPhase::Open
        } else {
            ConsultationPhase::Closed
        }
    }
}

/// The longest a consultation may stay open.
pub const MAX_CONSULTATION_DAYS: i64 = 180;

/// A consultation's period, checked.
pub fn check_period(opens_at: Millis, closes_at: Millis) -> Result<(), FieldError> {
    if closes_at <= opens_at {
        return Err(FieldError::new("closes_at", "must be later than opens_at"));
    }
    if closes_at - opens_at > MAX_CONSULTATION_DAYS * crate::time::DAY {
        return Err(FieldError::new(
            "closes_at",
            format!("a consultation stays open at most {MAX_CONSULTATION_DAYS} days"),
        ));
    }
    Ok(())
}

/// What staff answer to a proposal on the agenda.
#[derive(Debug, Clone, PartialEq)]
pub enum ProposalAnswer {
    /// Accepted, with what will be done; perhaps handled as a case (its id).
    Accept {
        answer: String,
        case: Option<i64>,
    },
    Decline {
        reason: String,
    },
}

impl ProposalAnswer {
    pub fn status(&self) -> ProposalStatus {
        match self {
            ProposalAnswer::Accept { .. } => ProposalStatus::Accepted,
            ProposalAnswer::Decline { .. } => ProposalStatus::Declined,
        }
    }
}

impl ProposalStatus {
    /// Whether staff may answer it now: once on the agenda, or earlier (staff need not wait for
    /// the threshold to accept a good idea or decline an impossible one), but only once.
    pub fn answerable(self) -> bool {
        matches!(self, ProposalStatus::Open | ProposalStatus::Agenda)
    }

    /// Whether people may still support it.
    pub fn supportable(self) -> bool {
        matches!(self, ProposalStatus::Open | ProposalStatus::Agenda)
    }

    /// The status after one more supporter, with `supports` supporters now.
    pub fn after_support(self, supports: i64, threshold: i64) -> Self {
        if self == ProposalStatus::Open && supports >= threshold {
            ProposalStatus::Agenda
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_shown_by_its_consent() {
        assert!(shown(Consent::Public, false, false));
        assert!(!shown(Consent::Staff, false, false));
        assert!(shown(Consent::Staff, true, false));
        assert!(!shown(Consent::Private, true, false));
        assert!(shown(Consent::Private, true, true));
    }

    #[test]
    fn names_round_trip_and_refuse_strangers() {
        for k in ArticleKind::ALL {
            assert_eq!(ArticleKind::parse(k.as_str()), Ok(*k));
        }
        for k in ConsultationKind::ALL {
            assert_eq!(ConsultationKind::parse(k.as_str()), Ok(*k));
        }
        for k in ProposalStatus::ALL {
            assert_eq!(ProposalStatus::parse(k.as_str()), Ok(*k));
        }
        assert!(Stance::parse("maybe").is_err());
    }

    #[test]
    fn an_article_expires_after_it_is_published() {
        assert!(check_article("停水通知", None, 10, Some(20)).is_ok());
        assert_eq!(check_article("停水通知", None, 10, Some(10)).unwrap_err().field, "expires_at");
        assert_eq!(check_article("  ", None, 10, None).unwrap_err().field, "title");
        assert!(article_live(10, Some(20), false, 10));
        assert!(!article_live(10, Some(20), false, 20));
        assert!(!article_live(10, None, false, 9));
        assert!(!article_live(10, None, true, 15));
    }

    #[test]
    fn a_body_has_text_or_a_picture() {
        assert!(check_body("body", "<p> </p><p></p>").is_err());
        assert!(check_body("body", "<p><img src=\"/x\"></p>").is_ok());
        assert!(check_body("body", "<p>明天 <b>停水</b></p>").is_ok());
        assert_eq!(text_of("<p>明天</p><p><b>停水</b> 8 点</p>"), "明天 停水 8 点");
    }

    #[test]
    fn phases_follow_the_clock_and_the_answer() {
        assert_eq!(ConsultationPhase::at(10, 20, false, 5), ConsultationPhase::Upcoming);
        assert_eq!(ConsultationPhase::at(10, 20, false, 10), ConsultationPhase::Open);
        assert_eq!(ConsultationPhase::at(10, 20, false, 20), ConsultationPhase::Closed);
        assert_eq!(ConsultationPhase::at(10, 20, true, 15), ConsultationPhase::Answered);
        assert!(check_period(10, 10).is_err());
        assert!(check_period(0, 181 * crate::time::DAY).is_err());
        assert!(check_period(0, 30 * crate::time::DAY).is_ok());
    }

    #[test]
    fn a_proposal_reaches_the_agenda_at_its_threshold_once() {
        assert_eq!(ProposalStatus::Open.after_support(19, 20), ProposalStatus::Open);
        assert_eq!(ProposalStatus::Open.after_support(20, 20), ProposalStatus::Agenda);
        assert_eq!(ProposalStatus::Agenda.after_support(30, 20), ProposalStatus::Agenda);
        assert_eq!(ProposalStatus::Declined.after_support(30, 20), ProposalStatus::Declined);
        assert!(!ProposalStatus::Accepted.answerable());
        assert!(!ProposalStatus::Withdrawn.supportable());
    }
}
