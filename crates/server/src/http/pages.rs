//! The flow pages as HTML: each challenge of the flow engine as a plain form, with the names
//! authentik's own pages and the suites that drive them use (`input[name="uidField"]`,
//! `input[name="password"]`, `button[type="submit"]`, errors in `.pf-m-error`), every value escaped.

use std::fmt::Write as _;

use crate::authentik::flow::{Challenge, ResponseErrors, primary_action};
use crate::model::AkUser;

/// HTML-escapes text for an element or a quoted attribute.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
font-family:'RedHatText','Overpass',-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#151515;\
background:#1c1e21 linear-gradient(135deg,#1c1e21 0%,#2b2f36 55%,#fd4b2d 160%)}\
main{width:100%;max-width:420px;margin:24px}\
.brand{color:#fff;text-align:center;font-size:28px;font-weight:600;letter-spacing:.02em;margin-bottom:24px}\
.pf-c-login__main{background:#fff;border-radius:4px;padding:40px 32px;box-shadow:0 8px 24px rgba(0,0,0,.35)}\
h1{font-size:24px;font-weight:400;text-align:center;margin:0 0 24px}\
label{display:block;font-size:14px;font-weight:600;margin:0 0 6px}\
input[type=text],input[type=password]{width:100%;font:inherit;padding:8px 10px;border:1px solid #8a8d90;\
border-bottom-color:#151515;border-radius:0}\
input:focus,button:focus{outline:2px solid #06c;outline-offset:2px}\
.pf-c-form__group{margin-bottom:20px}\
button{width:100%;font:inherit;font-weight:600;padding:10px;border:0;border-radius:3px;background:#fd4b2d;\
color:#fff;cursor:pointer}button:hover{background:#e0401f}\
.pf-m-error{color:#c9190b;font-size:14px;margin:6px 0 0}\
.user{display:flex;justify-content:space-between;align-items:center;margin-bottom:20px;font-size:14px}\
.user a{color:#06c}ul{padding-left:20px}p{line-height:1.5}";

/// A whole page: `title` and the card's content.
fn page(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{title}</title><style>{STYLE}</style></head>\
         <body><main><div class=\"brand\" aria-hidden=\"true\">authentik</div>\
         <div class=\"pf-c-login__main\">{content}</div></main></body></html>",
        title = escape(title),
    )
}

/// The errors of one field, as authentik's forms show them.
fn field_errors(errors: &ResponseErrors, field: &str) -> String {
    let mut out = String::new();
    for error in errors.get(field).into_iter().flatten() {
        let _ =
            write!(out, "<p class=\"pf-c-form__helper-text pf-m-error\" role=\"alert\">{}</p>", escape(&error.string));
    }
    out
}

/// Who the flow is for.
fn pending_user(username: &str) -> String {
    format!("<div class=\"user\"><span>{}</span></div>", escape(username))
}

/// The page of a stage's challenge; its form posts back to `action` (the page itself, with its query).
pub(super) fn stage(challenge: &Challenge, action: &str) -> String {
    let action = escape(action);
    match challenge {
        Challenge::Identification { flow, designation, application, errors } => {
            let hint = application
                .as_ref()
                .map(|app| format!("<p>Login to continue to {}.</p>", escape(app)))
                .unwrap_or_default();
            let content = format!(
                "<h1>{title}</h1>{hint}<form method=\"post\" action=\"{action}\">{non_field}\
                 <div class=\"pf-c-form__group\"><label for=\"ak-stage-identification-input\">Email or Username</label>\
                 <input type=\"text\" id=\"ak-stage-identification-input\" name=\"uidField\" autocomplete=\"username\" \
                 autofocus required>{uid_errors}</div>\
                 <button type=\"submit\">{button}</button></form>",
                title = escape(&flow.title),
                non_field = field_errors(errors, "non_field_errors"),
                uid_errors = field_errors(errors, "uid_field"),
                button = primary_action(designation),
            );
            page(&flow.title, &content)
        }
        Challenge::Password { flow, user, errors } => {
            let content = format!(
                "<h1>{title}</h1><form method=\"post\" action=\"{action}\">{user}\
                 <div class=\"pf-c-form__group\"><label for=\"ak-stage-password-input\">Password</label>\
                 <input type=\"password\" id=\"ak-stage-password-input\" name=\"password\" \
                 autocomplete=\"current-password\" autofocus required>{errors}</div>\
                 <button type=\"submit\">Continue</button></form>",
                title = escape(&flow.title),
                user = pending_user(&user.username),
                errors = field_errors(errors, "password"),
            );
            page(&flow.title, &content)
        }
        Challenge::Consent { flow, user, header, permissions, token, errors } => {
            let mut list = String::new();
            for permission in permissions {
                let _ = write!(list, "<li>{}</li>", escape(&permission.name));
            }
            let content = format!(
                "<h1>{title}</h1><form method=\"post\" action=\"{action}\">{user}<p>{header}</p>\
                 <p>Application requires following permissions:</p><ul>{list}</ul>\
                 <input type=\"hidden\" name=\"token\" value=\"{token}\">{errors}\
                 <button type=\"submit\" autofocus>Continue</button></form>",
                title = escape(&flow.title),
                user = pending_user(&user.username),
                header = escape(header),
                token = escape(token),
                errors = field_errors(errors, "token"),
            );
            page(&flow.title, &content)
        }
        Challenge::AccessDenied { flow, message, .. } => {
            let message = message.as_deref().map(escape).unwrap_or_default();
            let content = format!(
                "<h1>{title}</h1><p class=\"pf-m-error\" role=\"alert\">Request has been denied.</p><p>{message}</p>\
                 <p><a href=\"/if/flow/default-authentication-flow/\">Back to the login</a></p>",
                title = escape(&flow.title),
            );
            page(&flow.title, &content)
        }
        Challenge::DeviceCode { flow, errors } => {
            let content = format!(
                "<h1>{title}</h1><form method=\"post\" action=\"{action}\">\
                 <div class=\"pf-c-form__group\"><label for=\"ak-provider-oauth2-device-code-input\">Code</label>\
                 <input type=\"text\" id=\"ak-provider-oauth2-device-code-input\" name=\"code\" inputmode=\"numeric\" \
                 autocomplete=\"off\" autofocus required>{errors}</div>\
                 <button type=\"submit\">Continue</button></form>",
                title = escape(&flow.title),
                errors = field_errors(errors, "code"),
            );
            page(&flow.title, &content)
        }
        Challenge::DeviceCodeFinish { flow } => {
            let content = format!(
                "<h1>{title}</h1><form method=\"post\" action=\"{action}\">\
                 <p>You've successfully authenticated your device.</p><p>You can close this tab now.</p>\
                 <button type=\"submit\" autofocus>Continue</button></form>",
                title = escape(&flow.title),
            );
            page(&flow.title, &content)
        }
        Challenge::Redirect { to } => {
            let to = escape(to);
            page("Redirecting", &format!("<p>Redirecting to <a href=\"{to}\">{to}</a>.</p>"))
        }
        Challenge::Autosubmit(form) => {
            // authentik's `ak-stage-autosubmit` posts its form as soon as it shows; the button is the way without
            // script.
            let mut fields = String::new();
            for (name, value) in &form.attrs {
                let _ = write!(fields, "<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value));
            }
            let content = format!(
                "<h1>{title}</h1><form id=\"autosubmit\" method=\"post\" action=\"{url}\">{fields}\
                 <button type=\"submit\" autofocus>Continue</button></form>\
                 <script>document.getElementById(\"autosubmit\").submit()</script>",
                title = escape(&form.title),
                url = escape(&form.url),
            );
            page(&form.title, &content)
        }
        Challenge::SessionEnd { flow, user, application_name, application_launch_url, invalidation_flow_url } => {
            // The web component's links: "Log out of <brand>" (`#logout`), "Log back into <application>".
            let link = |url: &Option<String>, id: &str, text: String| {
                let url = url.as_deref().map(escape);
                url.map(|url| format!("<p><a href=\"{url}\"{id}>{}</a></p>", escape(&text))).unwrap_or_default()
            };
            let app = application_name.as_deref().unwrap_or_default();
            let content = format!(
                "<h1>{title}</h1>{user}<p>You've logged out of {app}. You can go back to the overview to launch \
                 another application, or log out of your authentik account.</p>\
                 <p><a href=\"/if/user/\">Go back to overview</a></p>{logout}{launch}",
                title = escape(&flow.title),
                user = pending_user(&user.username),
                app = escape(app),
                logout = link(invalidation_flow_url, " id=\"logout\"", "Log out of authentik".to_owned()),
                launch = link(application_launch_url, "", format!("Log back into {app}")),
            );
            page(&flow.title, &content)
        }
    }
}

/// authentik's error page (`bad_request_message`, `if/error.html`): a title and a message.
pub(super) fn bad_request(message: &str) -> String {
    page("Bad Request", &format!("<h1>Bad Request</h1><p class=\"pf-m-error\" role=\"alert\">{}</p>", escape(message)))
}

/// The user interface: who is logged in, with the way out.
pub(super) fn user(user: &AkUser) -> String {
    let groups: Vec<String> = user.groups.iter().map(|g| escape(&g.name)).collect();
    let content = format!(
        "<h1>Welcome, {name}</h1><dl><dt>Username</dt><dd id=\"username\">{username}</dd><dt>Email</dt>\
         <dd id=\"email\">{email}</dd><dt>Groups</dt><dd id=\"groups\">{groups}</dd></dl>\
         <p><a href=\"/flows/-/default/invalidation/\">Log out</a></p>",
        name = escape(if user.name.is_empty() { &user.username } else { &user.name }),
        username = escape(&user.username),
        email = escape(&user.email),
        groups = groups.join(", "),
    );
    page("authentik", &content)
}

/// Django's 404 page.
pub(super) fn not_found() -> String {
    page("Not Found", "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authentik::flow::challenge::FieldError;
    use crate::authentik::flow::{FlowInfo, PendingUser, Permission};

    #[test]
    fn every_value_is_escaped() {
        let evil = "<script>alert(1)</script>\"'&";
        let flow = FlowInfo { title: evil.into() };
        let errors = ResponseErrors::from([("password".to_owned(), vec![FieldError::new(evil, "invalid")])]);
        let user = PendingUser { username: evil.into() };
        let device_errors = ResponseErrors::from([("code".to_owned(), vec![FieldError::new(evil, "invalid")])]);
        let pages = [
            stage(&Challenge::Password { flow: flow.clone(), user: user.clone(), errors: errors.clone() }, evil),
            stage(
                &Challenge::Consent {
                    flow: flow.clone(),
                    user: user.clone(),
                    header: evil.into(),
                    permissions: vec![Permission { id: evil.into(), name: evil.into() }],
                    token: evil.into(),
                    errors,
                },
                evil,
            ),
            stage(&Challenge::DeviceCode { flow: flow.clone(), errors: device_errors }, evil),
            stage(&Challenge::DeviceCodeFinish { flow: flow.clone() }, evil),
            stage(&Challenge::AccessDenied { flow, user, message: Some(evil.into()) }, evil),
            stage(&Challenge::Redirect { to: evil.into() }, evil),
            stage(
                &Challenge::Autosubmit(crate::authentik::oauth2::AutoSubmit {
                    url: evil.into(),
                    title: evil.into(),
                    attrs: vec![("state", evil.into())],
                }),
                evil,
            ),
            stage(
                &Challenge::SessionEnd {
                    flow: FlowInfo { title: evil.into() },
                    user: PendingUser { username: evil.into() },
                    application_name: Some(evil.into()),
                    application_launch_url: Some(evil.into()),
                    invalidation_flow_url: Some(evil.into()),
                },
                evil,
            ),
            bad_request(evil),
        ];
        for html in pages {
            assert!(!html.contains("<script>alert"), "{html}");
            assert!(!html.contains("\"'&"), "{html}");
            assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;"), "{html}");
        }
    }
}
