//! What a `release` task does for a rollout, and the tasks fleet derives
//! from it (see `crate::deploy`).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::ReleaseState;
use super::facts::release_key;
use crate::deploy::{DeployRole, Deployer, Derived};
use crate::registry::is_templated;

pub(crate) const DEPLOYER: Deployer = Deployer {
    role,
    derive,
    app,
    check,
    with_lock_wait,
};

/// Params that only one state reads: a derived task drops them and sets
/// its own.
const STATE_PARAMS: &[&str] = &["artifact", "to", "force", "only_own_deploy"];

/// A deploy unless `state` is written as a state that deploys nothing; a
/// templated (or invalid, refused when the playbook loads) `state` may
/// deploy.
fn role(params: &Value) -> DeployRole {
    let Some(state) = params.get("state").filter(|state| !state.is_null()) else {
        return DeployRole::Deploy;
    };
    if is_templated(state) {
        return DeployRole::Deploy;
    }
    match ReleaseState::deserialize(state) {
        Ok(ReleaseState::Rollback | ReleaseState::Info | ReleaseState::Unlock) => {
            DeployRole::Manage
        }
        Ok(ReleaseState::Present) | Err(_) => DeployRole::Deploy,
    }
}

fn derive(params: &Value, derived: Derived<'_>) -> Value {
    let mut map = match params {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    map.retain(|key, _| !STATE_PARAMS.contains(&key.as_str()));
    let state = match derived {
        Derived::Info => "info",
        Derived::Rollback {
            to,
            only_own_deploy,
        } => {
            if let Some(to) = to {
                map.insert("to".into(), Value::from(to));
            }
            if only_own_deploy {
                map.insert("only_own_deploy".into(), Value::Bool(true));
            }
            "rollback"
        }
        Derived::Unlock { force } => {
            if force {
                map.insert("force".into(), Value::Bool(true));
            }
            "unlock"
        }
    };
    map.insert("state".into(), Value::from(state));
    Value::Object(map)
}

fn app(params: &Value) -> Option<&Value> {
    params.get("path")
}

fn check(derived: Derived<'_>) -> Result<(), String> {
    match derived {
        Derived::Rollback { to: Some(to), .. }
            if !is_templated(&Value::from(to)) && release_key(to).is_none() =>
        {
            Err(format!(
                "to must be a release name such as 20260301_120000, got {to:?}"
            ))
        }
        _ => Ok(()),
    }
}

fn with_lock_wait(params: &Value, seconds: u32) -> Value {
    let mut params = params.clone();
    if let Value::Object(map) = &mut params {
        map.insert("lock_wait".into(), Value::from(seconds));
    }
    params
}
