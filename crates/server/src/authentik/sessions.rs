//! Authenticated sessions (`authentik/core/api/authenticated_sessions.py`, `AuthenticatedSessionViewSet`): the
//! logins of the session store, listed, retrieved and ended. A session counts once a user has logged in with it
//! (upstream's `AuthenticatedSession` is created by the login), and its `uuid` is that login's id. Visibility is
//! the owner rule (`owner_field = "user"`): a superuser sees every session, anyone else their own, and another
//! user's session is a 404.

use uuid::Uuid;

use super::validate::*;
use super::*;
use crate::model::AkSession;
use crate::store::query::{Listing, search_terms};
use crate::store::resource::SessionColumn;

const MSG_SESSION_NOT_FOUND: &str = "No Authenticated Session matches the given query.";

/// Raw `GET /core/authenticated_sessions/` query parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionListParams {
    pub user_username: Option<String>,
    pub last_ip: Option<String>,
    pub last_user_agent: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// A session as the serializer shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub uuid: Uuid,
    pub user: i64,
    /// Whether it is the request's own session (`get_current`).
    pub current: bool,
    pub last_ip: String,
    pub last_user_agent: String,
    pub last_used: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

/// A sort key of the list (`OrderingFilter`'s default valid fields, the serializer's model fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortField {
    Uuid,
    User,
    Username,
    LastIp,
    LastUserAgent,
    LastUsed,
    Expires,
}

impl SortField {
    fn parse(term: &str) -> Option<Self> {
        Some(match term {
            "uuid" => Self::Uuid,
            "user" => Self::User,
            "session__last_ip" => Self::LastIp,
            "session__last_user_agent" => Self::LastUserAgent,
            "session__last_used" => Self::LastUsed,
            "session__expires" => Self::Expires,
            _ => return None,
        })
    }
}

impl Authentik<'_> {
    /// The rows of the logged-in, unexpired sessions the caller may see (the owner rule).
    async fn visible_rows(&self, caller: &AkUser) -> Result<Vec<AkSession>, AkError> {
        let rows = match owner_filter(caller) {
            None => self.store.all::<AkSession>().await?,
            Some(pk) => {
                let listing = Listing::new(None, &[], SessionColumn::Key, crate::pagination::PageRequest::all())
                    .filter(SessionColumn::User, Some(pk));
                self.store.list::<AkSession>(&listing).await?.items
            }
        };
        Ok(rows.into_iter().filter(|s| s.user.is_some() && !s.is_expired(self.now)).collect())
    }

    /// The logged-in, unexpired sessions the caller may see, with their user's username.
    async fn visible_sessions(&self, caller: &AkUser) -> Result<Vec<(SessionView, String)>, AkError> {
        let rows = self.visible_rows(caller).await?;
        let owners = self.owners_of(&rows).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let (user, uuid) = (row.user?, row.login_id?);
                let username = owners.get(&user)?.username.clone();
                let view = SessionView {
                    uuid,
                    user,
                    current: false,
                    last_used: row.last_used.or(row.auth_time).unwrap_or(row.expires),
                    expires: row.expires,
                    last_ip: row.last_ip,
                    last_user_agent: row.last_user_agent,
                };
                Some((view, username))
            })
            .collect())
    }

    /// The users of `rows`, each looked up once; a session whose user is gone is left out.
    async fn owners_of(&self, rows: &[AkSession]) -> Result<HashMap<i64, AkUser>, AkError> {
        let mut owners = HashMap::new();
        for pk in rows.iter().filter_map(|r| r.user) {
            if let Entry::Vacant(entry) = owners.entry(pk) {
                match self.store.get::<AkUser>(Field::Pk, pk).await {
                    Ok(user) => {
                        entry.insert(user);
                    }
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(owners)
    }

    /// `core_authenticated_sessions_list`: exact filters on the username, address and user agent, `?search=`
    /// over the same three, `?ordering=` (default `user__username`). `current_sid` is the hash of the request's
    /// own session key.
    pub async fn list_sessions(
        &self,
        caller: &AkUser,
        current_sid: Option<&str>,
        params: SessionListParams,
    ) -> Result<Page<SessionView>, AkError> {
        let mut errors = BTreeMap::new();
        let username = text_filter(&mut errors, "user__username", params.user_username);
        let last_ip = text_filter(&mut errors, "session__last_ip", params.last_ip);
        let last_user_agent = text_filter(&mut errors, "session__last_user_agent", params.last_user_agent);
        let search = search_filter(&mut errors, params.search);
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let page = page_request(params.page.as_deref(), params.page_size.as_deref())?;
        let terms = search_terms(search.as_deref());
        let current = self.current_login(current_sid).await?;
        let mut sessions: Vec<(SessionView, String)> = self
            .visible_sessions(caller)
            .await?
            .into_iter()
            .filter(|(s, name)| {
                let fields = [name.as_str(), s.last_ip.as_str(), s.last_user_agent.as_str()];
                username.as_ref().is_none_or(|u| u == name)
                    && last_ip.as_ref().is_none_or(|ip| ip == &s.last_ip)
                    && last_user_agent.as_ref().is_none_or(|ua| ua == &s.last_user_agent)
                    && terms.iter().all(|term| fields.iter().any(|f| f.to_lowercase().contains(term)))
            })
            .collect();
        let ordering: Vec<(SortField, bool)> = params
            .ordering
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter_map(|term| {
                let (name, descending) = term.strip_prefix('-').map_or((term, false), |f| (f, true));
                SortField::parse(name).map(|field| (field, descending))
            })
            .collect();
        let ordering = if ordering.is_empty() { vec![(SortField::Username, false)] } else { ordering };
        sessions.sort_by(|a, b| {
            let by = |&(field, descending): &(SortField, bool)| {
                let order = match field {
                    SortField::Uuid => a.0.uuid.cmp(&b.0.uuid),
                    SortField::User => a.0.user.cmp(&b.0.user),
                    SortField::Username => a.1.cmp(&b.1),
                    SortField::LastIp => a.0.last_ip.cmp(&b.0.last_ip),
                    SortField::LastUserAgent => a.0.last_user_agent.cmp(&b.0.last_user_agent),
                    SortField::LastUsed => a.0.last_used.cmp(&b.0.last_used),
                    SortField::Expires => a.0.expires.cmp(&b.0.expires),
                };
                if descending { order.reverse() } else { order }
            };
            ordering
                .iter()
                .map(by)
                .fold(std::cmp::Ordering::Equal, std::cmp::Ordering::then)
                .then(a.0.uuid.cmp(&b.0.uuid))
        });
        let views = sessions.into_iter().map(|(view, _)| SessionView { current: Some(view.uuid) == current, ..view });
        Page::build(page, page.slice(views.collect())).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `core_authenticated_sessions_retrieve`.
    pub async fn get_session(
        &self,
        caller: &AkUser,
        current_sid: Option<&str>,
        uuid: Uuid,
    ) -> Result<SessionView, AkError> {
        let current = self.current_login(current_sid).await?;
        let found = self.visible_sessions(caller).await?.into_iter().find(|(s, _)| s.uuid == uuid);
        let Some((view, _)) = found else { return Err(AkError::not_found(MSG_SESSION_NOT_FOUND)) };
        Ok(SessionView { current: Some(view.uuid) == current, ..view })
    }

    /// `core_authenticated_sessions_destroy`: the session ends (its cookie no longer authenticates).
    pub async fn delete_session(&self, caller: &AkUser, uuid: Uuid) -> Result<(), AkError> {
        // A session's rows go with its user (the store's cascade), so every visible row has its owner.
        let rows: Vec<AkSession> =
            self.visible_rows(caller).await?.into_iter().filter(|r| r.login_id == Some(uuid)).collect();
        if rows.is_empty() {
            return Err(AkError::not_found(MSG_SESSION_NOT_FOUND));
        }
        for row in rows {
            match self.store.delete::<AkSession>(row.key_hash).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The login id of the request's own session (`current`).
    async fn current_login(&self, sid: Option<&str>) -> Result<Option<Uuid>, AkError> {
        let Some(sid) = sid else { return Ok(None) };
        match self.store.get::<AkSession>(Field::HashedToken, sid).await {
            Ok(row) => Ok(row.login_id),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// `ua_parser.user_agent_parser.Parse`, for the browsers and tools a test suite drives (Chrome and headless
/// Chrome, Firefox, Safari, Edge, python-requests, curl); anything else is the family `Other`. Versions the
/// schema requires as text are `""` when unknown, where ua-parser gives `None` (docs/divergences.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent {
    /// `user_agent`: family, major, minor, patch.
    pub browser: (String, String, String, String),
    /// `os`: family, major, minor, patch.
    pub os: (String, Option<String>, Option<String>, Option<String>),
    /// `device`: family, brand, model.
    pub device: (String, Option<String>, Option<String>),
}

/// Parses a `User-Agent` header (see [`UserAgent`]).
pub fn parse_user_agent(ua: &str) -> UserAgent {
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("HeadlessChrome/", "HeadlessChrome"),
        ("Chrome/", "Chrome"),
        ("Firefox/", "Firefox"),
        ("python-requests/", "Python Requests"),
        ("curl/", "curl"),
    ];
    let version = |after: &str| -> (String, String, String) {
        let digits: String = after.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let mut parts = digits.split('.').map(str::to_owned);
        (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default())
    };
    let mut browser = ("Other".to_owned(), String::new(), String::new(), String::new());
    if let Some((token, family)) = BROWSERS.iter().find(|(token, _)| ua.contains(token)) {
        let (major, minor, patch) = version(ua.split(token).nth(1).unwrap_or_default());
        browser = ((*family).to_owned(), major, minor, patch);
    } else if ua.contains("Safari/") && ua.contains("Version/") {
        let (major, minor, patch) = version(ua.split("Version/").nth(1).unwrap_or_default());
        browser = ("Safari".to_owned(), major, minor, patch);
    }
    const SYSTEMS: &[(&str, &str)] = &[
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Mac OS X", "Mac OS X"),
        ("CrOS", "Chrome OS"),
        ("Linux", "Linux"),
    ];
    let os_family = SYSTEMS.iter().find(|(token, _)| ua.contains(token)).map_or("Other", |(_, family)| family);
    let device = match os_family {
        "Mac OS X" => ("Mac".to_owned(), Some("Apple".to_owned()), Some("Mac".to_owned())),
        "iOS" => ("iPhone".to_owned(), Some("Apple".to_owned()), Some("iPhone".to_owned())),
        _ => ("Other".to_owned(), None, None),
    };
    UserAgent { browser, os: (os_family.to_owned(), None, None, None), device }
}

#[cfg(test)]
mod tests {
    use super::parse_user_agent;

    #[test]
    fn user_agents_of_test_suites() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.85 Safari/537.36";
        let parsed = parse_user_agent(chrome);
        assert_eq!(parsed.browser, ("HeadlessChrome".into(), "131".into(), "0".into(), "6778".into()));
        assert_eq!(parsed.os.0, "Linux");
        assert_eq!(parse_user_agent("python-requests/2.32.3").browser.0, "Python Requests");
        let other = parse_user_agent("");
        assert_eq!(other.browser, ("Other".into(), String::new(), String::new(), String::new()));
        assert_eq!(other.device, ("Other".into(), None, None));
    }
}
