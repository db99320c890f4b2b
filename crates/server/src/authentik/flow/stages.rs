//! The stages' views: identification (`stages/identification/stage.py`), password (`stages/password/stage.py`),
//! user login and logout (`stages/user_login`, `stages/user_logout`) and consent (`stages/consent/stage.py`),
//! each a challenge on GET and its answer checked on POST as DRF's serializers check it.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::challenge::{FieldError, FlowInfo, ResponseErrors};
use super::plan::{Pending, Stage};
use super::{Challenge, FlowAnswer, FlowError, Flows, Permission, Run};
use crate::model::{AkUser, AkUserConsent};
use crate::store::{Field, StoreError};

const MSG_REQUIRED: &str = "This field is required.";
const MSG_NULL: &str = "This field may not be null.";
const MSG_BLANK: &str = "This field may not be blank.";
const MSG_NOT_STRING: &str = "Not a valid string.";
const MSG_NO_IDENTIFICATION: &str = "No identification data provided.";
const MSG_INVALID_PASSWORD: &str = "Invalid password";
const MSG_INVALID_CONSENT_TOKEN: &str = "Invalid consent token, re-showing prompt";
const MSG_NO_PENDING_USER: &str = "No Pending user to login.";
/// `PasswordStage.failed_attempts_before_cancel`'s default.
const FAILED_ATTEMPTS_BEFORE_CANCEL: u32 = 5;
/// `ConsentStage.consent_expire_in`'s default, `weeks=4`.
fn consent_validity() -> chrono::TimeDelta {
    chrono::TimeDelta::weeks(4)
}

/// How a DRF `CharField` reads one field of an answer.
#[derive(Clone, Copy)]
pub(super) struct CharField {
    pub(super) required: bool,
    pub(super) allow_blank: bool,
    pub(super) allow_null: bool,
    pub(super) trim: bool,
}

impl CharField {
    /// The field's value (`None` when absent or null and allowed), or its error.
    pub(super) fn read(self, answer: &Map<String, Value>, name: &str) -> Result<Option<String>, FieldError> {
        let text = match answer.get(name) {
            None if self.required => return Err(FieldError::new(MSG_REQUIRED, "required")),
            None => return Ok(None),
            Some(Value::Null) if self.allow_null => return Ok(None),
            Some(Value::Null) => return Err(FieldError::new(MSG_NULL, "null")),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return Err(FieldError::new(MSG_NOT_STRING, "invalid")),
        };
        let text = if self.trim { text.trim().to_owned() } else { text };
        if text.is_empty() && !self.allow_blank {
            return Err(FieldError::new(MSG_BLANK, "blank"));
        }
        Ok(Some(text))
    }
}

pub(super) fn one_error(field: &str, error: FieldError) -> ResponseErrors {
    ResponseErrors::from([(field.to_owned(), vec![error])])
}

impl Flows<'_> {
    /// Runs the plan's current stage: its challenge on GET, its answer checked on POST.
    pub(super) async fn stage(
        &self,
        run: &mut Run,
        stage: Stage,
        answer: Option<&Map<String, Value>>,
    ) -> Result<FlowAnswer, FlowError> {
        match (stage, answer) {
            (Stage::Identification, None) => Ok(self.identification(run, ResponseErrors::new())),
            (Stage::Identification, Some(answer)) => self.identify(run, answer).await,
            (Stage::Password, None) => Ok(self.password_challenge(run, ResponseErrors::new())),
            (Stage::Password, Some(answer)) => self.check_password(run, answer).await,
            (Stage::UserLogin, _) => self.user_login(run).await,
            (Stage::UserLogout, _) => {
                run.session.logout(self.store).await?;
                Ok(self.stage_ok(run))
            }
            (Stage::Consent { always }, None) => self.consent(run, always).await,
            (Stage::Consent { always }, Some(answer)) => self.check_consent(run, always, answer).await,
            (Stage::OAuthFulfillment, _) => self.fulfill(run).await,
            (Stage::DeviceCode, answer) => self.device_code_stage(run, answer).await,
            (Stage::DeviceCodeFinish, answer) => self.device_code_finish(run, answer).await,
            (Stage::SessionEnd, _) => Ok(self.session_end(run)),
        }
    }

    fn application_name(run: &Run) -> Option<String> {
        run.plan.as_ref().and_then(|p| p.context.application.as_ref()).map(|(_, name)| name.clone())
    }

    pub(super) fn flow_info(run: &Run) -> FlowInfo {
        FlowInfo::of(run.flow, Self::application_name(run).as_deref())
    }

    /// `IdentificationStageView.get_challenge`.
    fn identification(&self, run: &Run, errors: ResponseErrors) -> FlowAnswer {
        FlowAnswer::Challenge(Challenge::Identification {
            flow: Self::flow_info(run),
            designation: run.flow.designation,
            application: Self::application_name(run),
            errors,
        })
    }

    /// `IdentificationChallengeResponse.validate` and `challenge_valid`: the user by email or username, case
    /// insensitively; an identifier nobody has goes on to the password stage all the same
    /// (`pretend_user_exists`).
    async fn identify(&self, run: &mut Run, answer: &Map<String, Value>) -> Result<FlowAnswer, FlowError> {
        let field = CharField { required: false, allow_blank: true, allow_null: true, trim: true };
        let uid = match field.read(answer, "uid_field") {
            Ok(uid) => uid.unwrap_or_default(),
            Err(error) => return Ok(self.identification(run, one_error("uid_field", error))),
        };
        if let Err(error) = field.read(answer, "password") {
            return Ok(self.identification(run, one_error("password", error)));
        }
        if uid.is_empty() {
            let error = FieldError::new(MSG_NO_IDENTIFICATION, "invalid");
            return Ok(self.identification(run, one_error("non_field_errors", error)));
        }
        let pending = match self.find_user(&uid).await? {
            Some(user) => Pending::User { pk: user.pk, username: user.username },
            None => Pending::Unknown(uid),
        };
        if let Some(plan) = run.plan.as_mut() {
            plan.context.pending_user = Some(pending);
            plan.context.authenticated = false;
        }
        Ok(self.stage_ok(run))
    }

    /// `IdentificationStageView.get_user` with `user_fields` email and username, `case_insensitive_matching`.
    async fn find_user(&self, uid: &str) -> Result<Option<AkUser>, StoreError> {
        match self.store.get::<AkUser>(Field::Username, uid).await {
            Ok(user) => return Ok(Some(user)),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let wanted = uid.to_lowercase();
        let users = self.store.all::<AkUser>().await?;
        Ok(users.into_iter().find(|u| u.email.to_lowercase() == wanted || u.username.to_lowercase() == wanted))
    }

    /// `PasswordStageView.get_challenge`.
    fn password_challenge(&self, run: &mut Run, errors: ResponseErrors) -> FlowAnswer {
        let Some(pending) = run.plan.as_ref().and_then(|p| p.context.pending_user.clone()) else {
            return self.stage_invalid(run, None);
        };
        let user = super::PendingUser { username: pending.username().to_owned() };
        FlowAnswer::Challenge(Challenge::Password { flow: Self::flow_info(run), user, errors })
    }

    /// `PasswordStageView.challenge_invalid`: counted per session; past `failed_attempts_before_cancel` the flow
    /// is cancelled.
    fn password_invalid(&self, run: &mut Run, errors: ResponseErrors) -> FlowAnswer {
        run.session.state.invalid_tries += 1;
        run.session.touch();
        if run.session.state.invalid_tries > FAILED_ATTEMPTS_BEFORE_CANCEL {
            run.session.state.invalid_tries = 0;
            return self.stage_invalid(run, None);
        }
        self.password_challenge(run, errors)
    }

    /// `PasswordStageView.challenge_valid`: the pending user's password, checked by the inbuilt backend (an
    /// inactive user, or one without a usable password, never authenticates).
    async fn check_password(&self, run: &mut Run, answer: &Map<String, Value>) -> Result<FlowAnswer, FlowError> {
        let field = CharField { required: true, allow_blank: false, allow_null: false, trim: false };
        let password = match field.read(answer, "password") {
            Ok(password) => password.unwrap_or_default(),
            Err(error) => return Ok(self.password_invalid(run, one_error("password", error))),
        };
        let Some(pending) = run.plan.as_ref().and_then(|p| p.context.pending_user.clone()) else {
            return Ok(self.stage_invalid(run, None));
        };
        let user = match pending {
            Pending::User { pk, .. } => match self.store.get::<AkUser>(Field::Pk, pk).await {
                Ok(user) => Some(user),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            Pending::Unknown(_) => None,
        };
        let valid = user.is_some_and(|u| u.is_active && password_matches(&u, &password));
        if !valid {
            run.failed_login = true;
            let error = FieldError::new(MSG_INVALID_PASSWORD, "invalid");
            return Ok(self.password_invalid(run, one_error("password", error)));
        }
        if let Some(plan) = run.plan.as_mut() {
            plan.context.authenticated = true;
        }
        Ok(self.stage_ok(run))
    }

    /// `UserLoginStageView.do_login`: the pending user is logged in (a new session key, `auth_time` now, `amr`
    /// `pwd`) and `last_login` is set.
    async fn user_login(&self, run: &mut Run) -> Result<FlowAnswer, FlowError> {
        let pending = run.plan.as_ref().and_then(|p| p.context.pending_user.clone());
        let authenticated = run.plan.as_ref().is_some_and(|p| p.context.authenticated);
        let Some(Pending::User { pk, .. }) = pending.filter(|_| authenticated) else {
            return Ok(self.stage_invalid(run, Some(MSG_NO_PENDING_USER)));
        };
        let mut user = match self.store.get::<AkUser>(Field::Pk, pk).await {
            Ok(user) if user.is_active => user,
            Ok(_) | Err(StoreError::NotFound) => return Ok(self.stage_invalid(run, None)),
            Err(e) => return Err(e.into()),
        };
        user.last_login = Some(self.now);
        match self.store.replace(user.clone()).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Ok(self.stage_invalid(run, None)),
            Err(e) => return Err(e.into()),
        }
        run.session.login(self.store, user, vec!["pwd".to_owned()], self.now).await?;
        Ok(self.stage_ok(run))
    }

    /// `ConsentStageView.get`: a valid earlier consent covering the requested scopes passes at once (not for an
    /// `always_require` stage); otherwise the consent challenge, with a new token.
    async fn consent(&self, run: &mut Run, always: bool) -> Result<FlowAnswer, FlowError> {
        let Some(((slug, _), user)) =
            run.plan.as_ref().and_then(|p| p.context.application.clone()).zip(run.session.user.clone())
        else {
            return Ok(self.stage_invalid(run, None));
        };
        let requested: Vec<String> = self.requested_permissions(run).iter().map(|p| p.id.clone()).collect();
        if !always && let Some(consent) = self.valid_consent(user.pk, &slug).await? {
            let granted: Vec<&str> = consent.permissions.split_whitespace().collect();
            if requested.iter().all(|scope| granted.contains(&scope.as_str())) {
                return Ok(self.stage_ok(run));
            }
        }
        Ok(self.consent_challenge(run, ResponseErrors::new()))
    }

    fn requested_permissions(&self, run: &Run) -> Vec<Permission> {
        let context = run.plan.as_ref().map(|p| &p.context);
        let permissions = context.map(|c| c.consent_permissions.clone()).unwrap_or_default();
        permissions.into_iter().map(|(id, name)| Permission { id, name }).collect()
    }

    fn consent_challenge(&self, run: &mut Run, errors: ResponseErrors) -> FlowAnswer {
        let token = Uuid::new_v4().to_string();
        let user = self.shown_user(run);
        let permissions = self.requested_permissions(run);
        let Some(plan) = run.plan.as_mut() else { return self.stage_invalid(run, None) };
        plan.context.consent_token = Some(token.clone());
        let header = plan.context.consent_header.clone().unwrap_or_default();
        run.session.state.plan = Some(plan.clone());
        run.session.touch();
        FlowAnswer::Challenge(Challenge::Consent {
            flow: Self::flow_info(run),
            user,
            header,
            permissions,
            token,
            errors,
        })
    }

    /// The user's unexpired consent to the application `slug` (`UserConsent.filter_not_expired`).
    async fn valid_consent(&self, user: i64, slug: &str) -> Result<Option<AkUserConsent>, StoreError> {
        let consents = self.store.all::<AkUserConsent>().await?;
        Ok(consents
            .into_iter()
            .find(|c| c.user == user && c.application == slug && c.expires.is_none_or(|e| e > self.now)))
    }

    /// `ConsentChallengeResponse.validate_token` and `ConsentStageView.challenge_valid`: the consent is
    /// remembered for `consent_expire_in` (not for an `always_require` stage).
    async fn check_consent(
        &self,
        run: &mut Run,
        always: bool,
        answer: &Map<String, Value>,
    ) -> Result<FlowAnswer, FlowError> {
        let field = CharField { required: true, allow_blank: false, allow_null: false, trim: true };
        let expected = run.plan.as_ref().and_then(|p| p.context.consent_token.clone());
        let token = match field.read(answer, "token") {
            Ok(token) => token,
            Err(error) => return Ok(self.consent_challenge(run, one_error("token", error))),
        };
        if token.is_none() || token != expected {
            let error = FieldError::new(MSG_INVALID_CONSENT_TOKEN, "invalid");
            return Ok(self.consent_challenge(run, one_error("token", error)));
        }
        let application = run.plan.as_ref().and_then(|p| p.context.application.clone());
        let (Some((slug, _)), Some(user)) = (application, run.session.user.as_ref()) else {
            return Ok(self.stage_invalid(run, None));
        };
        if !always {
            let permissions: Vec<String> = self.requested_permissions(run).into_iter().map(|p| p.id).collect();
            if let Some(old) = self.valid_consent(user.pk, &slug).await? {
                match self.store.delete::<AkUserConsent>(old.pk).await {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let consent = AkUserConsent {
                pk: Uuid::new_v4(),
                user: user.pk,
                application: slug,
                permissions: permissions.join(" "),
                expires: Some(self.now + consent_validity()),
            };
            match self.store.insert_with_pk(consent).await {
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(self.stage_ok(run))
    }
}

/// The inbuilt backend's check: the user's stored password hash.
fn password_matches(user: &AkUser, password: &str) -> bool {
    user.password.as_ref().is_some_and(|hash| hash.verify(password))
}
