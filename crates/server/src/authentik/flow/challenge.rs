//! The challenges a stage shows, as the executor writes them (`authentik/flows/challenge.py` and the stages'
//! serializers): one value per served component, with the field errors of a refused answer.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::authentik::oauth2::AutoSubmit;
use crate::authentik::{DEFAULT_BACKGROUND_URL, Flow};

/// `DEFAULT_AVATAR` (`authentik/lib/avatars.py`), shown for a user without one.
pub const DEFAULT_AVATAR: &str = "/static/dist/assets/images/user_default.png";
/// The default brand's `branding_title`.
const BRAND_NAME: &str = "authentik";
/// `reverse("authentik_flows:cancel")`.
const CANCEL_URL: &str = "/flows/-/cancel/";

/// One field error of a refused answer (DRF's `ErrorDetail`: its text and code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub string: String,
    pub code: &'static str,
}

impl FieldError {
    pub fn new(string: impl Into<String>, code: &'static str) -> Self {
        FieldError { string: string.into(), code }
    }
}

/// A refused answer's errors by field (`non_field_errors` for the answer as a whole).
pub type ResponseErrors = BTreeMap<String, Vec<FieldError>>;

/// The flow a challenge belongs to (`ContextualFlowInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowInfo {
    pub title: String,
}

impl FlowInfo {
    /// The flow's title, with `%(app)s` filled in with the application's name (`Flow.title` as the executor
    /// formats it).
    pub fn of(flow: &Flow, application: Option<&str>) -> FlowInfo {
        FlowInfo { title: flow.title.replace("%(app)s", application.unwrap_or_default()) }
    }
}

/// A user as `WithUserInfoChallenge` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PendingUser {
    pub username: String,
}

/// One permission a consent stage asks for (`ConsentPermission`: the scope and its description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub id: String,
    pub name: String,
}

/// A stage's challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `ak-stage-identification` (the default stage: `user_fields` email and username, no password field).
    Identification {
        flow: FlowInfo,
        designation: &'static str,
        /// The application the user is logging in for (`application_pre`).
        application: Option<String>,
        errors: ResponseErrors,
    },
    /// `ak-stage-password`.
    Password { flow: FlowInfo, user: PendingUser, errors: ResponseErrors },
    /// `ak-stage-consent`.
    Consent {
        flow: FlowInfo,
        user: PendingUser,
        header: String,
        permissions: Vec<Permission>,
        token: String,
        errors: ResponseErrors,
    },
    /// `ak-stage-access-denied`.
    AccessDenied { flow: FlowInfo, user: PendingUser, message: Option<String> },
    /// `xak-flow-redirect`: where the user agent goes next.
    Redirect { to: String },
    /// `ak-stage-autosubmit`: a form the user agent posts to the client (`response_mode=form_post`).
    Autosubmit(AutoSubmit),
    /// `ak-provider-oauth2-device-code`: the user enters the device's code (field `code`).
    DeviceCode { flow: FlowInfo, errors: ResponseErrors },
    /// `ak-provider-oauth2-device-code-finish`: the device is approved.
    DeviceCodeFinish { flow: FlowInfo },
    /// `ak-stage-session-end`: the end of a logout from an application, with the ways on.
    SessionEnd {
        flow: FlowInfo,
        user: PendingUser,
        application_name: Option<String>,
        application_launch_url: Option<String>,
        invalidation_flow_url: Option<String>,
    },
}

impl Challenge {
    /// The component name.
    pub fn component(&self) -> &'static str {
        match self {
            Challenge::Identification { .. } => "ak-stage-identification",
            Challenge::Password { .. } => "ak-stage-password",
            Challenge::Consent { .. } => "ak-stage-consent",
            Challenge::AccessDenied { .. } => "ak-stage-access-denied",
            Challenge::Redirect { .. } => "xak-flow-redirect",
            Challenge::Autosubmit(_) => "ak-stage-autosubmit",
            Challenge::DeviceCode { .. } => "ak-provider-oauth2-device-code",
            Challenge::DeviceCodeFinish { .. } => "ak-provider-oauth2-device-code-finish",
            Challenge::SessionEnd { .. } => "ak-stage-session-end",
        }
    }

    /// The challenge as the executor's JSON, in the serializers' field order.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        let component = self.component();
        match self {
            Challenge::Identification { flow, designation, application, errors } => {
                head(&mut out, flow, component, errors);
                out.insert("user_fields".into(), json!(["email", "username"]));
                out.insert("password_fields".into(), json!(false));
                out.insert("allow_show_password".into(), json!(false));
                if let Some(application) = application {
                    out.insert("application_pre".into(), json!(application));
                }
                out.insert("flow_designation".into(), json!(designation));
                out.insert("captcha_stage".into(), Value::Null);
                out.insert("primary_action".into(), json!(primary_action(designation)));
                out.insert("sources".into(), json!([]));
                out.insert("show_source_labels".into(), json!(false));
                out.insert("enable_remember_me".into(), json!(false));
                out.insert("passkey_challenge".into(), Value::Null);
            }
            Challenge::Password { flow, user, errors } => {
                head(&mut out, flow, component, errors);
                user_info(&mut out, user);
                out.insert("allow_show_password".into(), json!(false));
            }
            Challenge::Consent { flow, user, header, permissions, token, errors } => {
                head(&mut out, flow, component, errors);
                user_info(&mut out, user);
                out.insert("header_text".into(), json!(header));
                let permissions: Vec<Value> = permissions.iter().map(|p| json!({"name": p.name, "id": p.id})).collect();
                out.insert("permissions".into(), Value::Array(permissions));
                out.insert("additional_permissions".into(), json!([]));
                out.insert("token".into(), json!(token));
            }
            Challenge::AccessDenied { flow, user, message } => {
                head(&mut out, flow, component, &ResponseErrors::new());
                user_info(&mut out, user);
                if let Some(message) = message {
                    out.insert("error_message".into(), json!(message));
                }
            }
            Challenge::Redirect { to } => {
                out.insert("component".into(), json!(component));
                out.insert("to".into(), json!(to));
            }
            Challenge::Autosubmit(form) => {
                // `AutosubmitChallenge`'s own fields come before the `component` it redeclares (DRF's order).
                out.insert("url".into(), json!(form.url));
                let attrs: Map<String, Value> = form.attrs.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
                out.insert("attrs".into(), Value::Object(attrs));
                out.insert("title".into(), json!(form.title));
                out.insert("component".into(), json!(component));
            }
            Challenge::DeviceCode { flow, errors } => head(&mut out, flow, component, errors),
            Challenge::DeviceCodeFinish { flow } => head(&mut out, flow, component, &ResponseErrors::new()),
            Challenge::SessionEnd { flow, user, application_name, application_launch_url, invalidation_flow_url } => {
                head(&mut out, flow, component, &ResponseErrors::new());
                user_info(&mut out, user);
                let optional = [
                    ("application_name", application_name),
                    ("application_launch_url", application_launch_url),
                    ("invalidation_flow_url", invalidation_flow_url),
                ];
                for (name, value) in optional {
                    if let Some(value) = value {
                        out.insert(name.into(), json!(value));
                    }
                }
                out.insert("brand_name".into(), json!(BRAND_NAME));
            }
        }
        Value::Object(out)
    }
}

/// `IdentificationStageView.get_primary_action`.
pub fn primary_action(designation: &str) -> &'static str {
    if designation == "authentication" { "Log in" } else { "Continue" }
}

/// `Challenge`'s own fields: `flow_info`, `component` and, when there are any, `response_errors`.
fn head(out: &mut Map<String, Value>, flow: &FlowInfo, component: &str, errors: &ResponseErrors) {
    out.insert(
        "flow_info".into(),
        json!({"title": flow.title, "background": DEFAULT_BACKGROUND_URL, "cancel_url": CANCEL_URL, "layout": "stacked"}),
    );
    out.insert("component".into(), json!(component));
    if !errors.is_empty() {
        let errors: Map<String, Value> = errors
            .iter()
            .map(|(field, list)| {
                let list = list.iter().map(|e| json!({"string": e.string, "code": e.code})).collect();
                (field.clone(), Value::Array(list))
            })
            .collect();
        out.insert("response_errors".into(), Value::Object(errors));
    }
}

/// `WithUserInfoChallenge`'s fields.
fn user_info(out: &mut Map<String, Value>, user: &PendingUser) {
    out.insert("pending_user".into(), json!(user.username));
    out.insert("pending_user_avatar".into(), json!(DEFAULT_AVATAR));
}
