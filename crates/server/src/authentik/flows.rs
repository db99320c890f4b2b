//! Flows (`/flows/instances/`, `authentik/flows/api/flows.py FlowViewSet`): the flows a fresh authentik install
//! holds, read-only. Their slugs, names, titles, designations and authentication requirements are those of
//! upstream's default blueprints (`blueprints/default/flow-*.yaml`); their pks are fixed, so a provider naming one
//! keeps naming it across restarts and stores. No stages or policies are modelled, and flows cannot be created,
//! edited or deleted (those methods are not served: Dropshot's 405).

use super::validate::*;
use super::*;

const MSG_FLOW_NOT_FOUND: &str = "No Flow matches the given query.";
/// `FlowDesignation`'s choices.
const DESIGNATIONS: &[&str] = &[
    "authentication",
    "authorization",
    "invalidation",
    "enrollment",
    "unenrollment",
    "recovery",
    "stage_configuration",
];
/// `FlowDeniedAction`'s choices.
const DENIED_ACTIONS: &[&str] = &["message_continue", "message", "continue"];
/// What `Flow.background_url` answers for a flow without its own background (the brand's default).
pub const DEFAULT_BACKGROUND_URL: &str = "/static/dist/assets/images/flow_background.jpg";

/// An authentik `Flow` of the built-in catalogue; the model's defaults (`policy_engine_mode` `any`, `layout`
/// `stacked`, no compatibility mode, no background) hold for every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub pk: Uuid,
    pub slug: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub designation: &'static str,
    pub authentication: &'static str,
    pub denied_action: &'static str,
}

const fn flow(
    pk: u128,
    slug: &'static str,
    name: &'static str,
    title: &'static str,
    designation: &'static str,
    authentication: &'static str,
) -> Flow {
    Flow { pk: Uuid::from_u128(pk), slug, name, title, designation, authentication, denied_action: "message_continue" }
}

/// The flows of a fresh authentik 2026.8 install, by slug. The two provider flows keep the uuids tokenstack
/// showed for them before flows were modelled (`DEFAULT_AUTHORIZATION_FLOW`, `DEFAULT_INVALIDATION_FLOW`).
pub const FLOWS: &[Flow] = &[
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_0001,
        "default-authentication-flow",
        "Welcome to authentik!",
        "Welcome to authentik!",
        "authentication",
        "none",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_0002,
        "default-authenticator-static-setup",
        "default-authenticator-static-setup",
        "Setup Static OTP Tokens",
        "stage_configuration",
        "require_authenticated",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_0003,
        "default-authenticator-totp-setup",
        "default-authenticator-totp-setup",
        "Setup Two-Factor authentication",
        "stage_configuration",
        "require_authenticated",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_0004,
        "default-authenticator-webauthn-setup",
        "default-authenticator-webauthn-setup",
        "Setup WebAuthn",
        "stage_configuration",
        "require_authenticated",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_0005,
        "default-invalidation-flow",
        "Logout",
        "Default Invalidation Flow",
        "invalidation",
        "none",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_0006,
        "default-password-change",
        "Change Password",
        "Change password",
        "stage_configuration",
        "require_authenticated",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_0007,
        "default-provider-authorization-explicit-consent",
        "Authorize Application",
        "Redirecting to %(app)s",
        "authorization",
        "require_authenticated",
    ),
    flow(
        0x7f1a_0001_0000_4000_8000_0000_0000_0001,
        "default-provider-authorization-implicit-consent",
        "Authorize Application",
        "Redirecting to %(app)s",
        "authorization",
        "require_authenticated",
    ),
    flow(
        0x7f1a_0002_0000_4000_8000_0000_0000_0002,
        "default-provider-invalidation-flow",
        "Logout",
        "You've logged out of %(app)s.",
        "invalidation",
        "none",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_0008,
        "default-source-authentication",
        "Welcome to authentik!",
        "Welcome to authentik!",
        "authentication",
        "require_unauthenticated",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_0009,
        "default-source-enrollment",
        "Welcome to authentik! Please select a username.",
        "Welcome to authentik! Please select a username.",
        "enrollment",
        "none",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_000a,
        "default-source-pre-authentication",
        "Pre-Authentication",
        "Pre-authentication",
        "stage_configuration",
        "none",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_000b,
        "default-user-settings-flow",
        "User settings",
        "Update your info",
        "stage_configuration",
        "require_authenticated",
    ),
    flow(
        0x7f1a_0005_0000_4000_8000_0000_0000_000c,
        "initial-setup",
        "default-oobe-setup",
        "Welcome to authentik!",
        "stage_configuration",
        "none",
    ),
];

/// The flow whose pk is `pk`, if there is one.
pub fn flow_by_pk(pk: Uuid) -> Option<&'static Flow> {
    FLOWS.iter().find(|flow| flow.pk == pk)
}

/// Raw `GET /flows/instances/` query parameters (empty strings count as absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowListParams {
    pub denied_action: Option<String>,
    pub designation: Option<String>,
    pub flow_uuid: Option<String>,
    pub name: Option<String>,
    pub slug: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

impl Authentik<'_> {
    /// `flows_instances_list`: exact filters on `flow_uuid`, `name`, `slug`, `designation` and `denied_action`,
    /// DRF's search over name, slug, designation and title, ordering by any of those (default `slug`).
    pub fn list_flows(&self, caller: &AkUser, params: FlowListParams) -> Result<Page<Flow>, AkError> {
        require_flow_admin(caller)?;
        let mut errors = BTreeMap::new();
        let choice = |errors: &mut BTreeMap<String, Vec<String>>,
                      field: &str,
                      value: Option<String>,
                      choices: &[&str]| {
            let value = text_filter(errors, field, value)?;
            if choices.contains(&value.as_str()) {
                return Some(value);
            }
            add_error(errors, field, format!("Select a valid choice. {value} is not one of the available choices."));
            None
        };
        let designation = choice(&mut errors, "designation", params.designation, DESIGNATIONS);
        let denied_action = choice(&mut errors, "denied_action", params.denied_action, DENIED_ACTIONS);
        let flow_uuid = text_filter(&mut errors, "flow_uuid", params.flow_uuid).and_then(|v| {
            let parsed = Uuid::parse_str(v.trim()).ok();
            if parsed.is_none() {
                add_error(&mut errors, "flow_uuid", "Enter a valid UUID.");
            }
            parsed
        });
        let name = text_filter(&mut errors, "name", params.name);
        let slug = text_filter(&mut errors, "slug", params.slug);
        let search = search_filter(&mut errors, params.search);
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let page = page_request(params.page.as_deref(), params.page_size.as_deref())?;
        let terms = crate::store::query::search_terms(search.as_deref());
        let mut flows: Vec<Flow> = FLOWS
            .iter()
            .filter(|f| {
                designation.as_deref().is_none_or(|d| f.designation == d)
                    && denied_action.as_deref().is_none_or(|d| f.denied_action == d)
                    && flow_uuid.is_none_or(|pk| f.pk == pk)
                    && name.as_deref().is_none_or(|n| f.name == n)
                    && slug.as_deref().is_none_or(|s| f.slug == s)
                    && terms.iter().all(|term| {
                        [f.name, f.slug, f.designation, f.title].iter().any(|v| v.to_lowercase().contains(term))
                    })
            })
            .copied()
            .collect();
        let keys = ordering_keys(params.ordering.as_deref());
        flows.sort_by(|a, b| {
            keys.iter()
                .map(|(field, descending)| {
                    let order = sort_value(a, field).cmp(&sort_value(b, field));
                    if *descending { order.reverse() } else { order }
                })
                .find(|o| o.is_ne())
                .unwrap_or(a.slug.cmp(b.slug))
        });
        Page::build(page, page.slice(flows)).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `flows_instances_retrieve`, by slug.
    pub fn get_flow(&self, caller: &AkUser, slug: &str) -> Result<Flow, AkError> {
        require_flow_admin(caller)?;
        FLOWS.iter().find(|f| f.slug == slug).copied().ok_or_else(|| AkError::not_found(MSG_FLOW_NOT_FOUND))
    }
}

/// The `?ordering=` terms over the flow's fields; unknown fields are ignored (DRF's `OrderingFilter`), and none
/// left means `slug`.
fn ordering_keys(ordering: Option<&str>) -> Vec<(String, bool)> {
    let mut keys: Vec<(String, bool)> = ordering
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter_map(|term| {
            let (field, descending) = term.strip_prefix('-').map_or((term, false), |f| (f, true));
            matches!(field, "slug" | "name" | "title" | "designation" | "pk" | "flow_uuid")
                .then(|| (field.to_owned(), descending))
        })
        .collect();
    if keys.is_empty() {
        keys.push(("slug".to_owned(), false));
    }
    keys
}

fn sort_value<'f>(flow: &'f Flow, field: &str) -> std::borrow::Cow<'f, str> {
    match field {
        "name" => flow.name.into(),
        "title" => flow.title.into(),
        "designation" => flow.designation.into(),
        "pk" | "flow_uuid" => flow.pk.to_string().into(),
        _ => flow.slug.into(),
    }
}

/// authentik's `ObjectFilter`: a user holding neither `view_flow` nor an object permission on a flow (nobody but
/// superusers, by default) is refused the list and every flow with a 403.
fn require_flow_admin(caller: &AkUser) -> Result<(), AkError> {
    if caller.is_effective_superuser() { Ok(()) } else { Err(AkError::forbidden(MSG_NO_PERMISSION)) }
}
