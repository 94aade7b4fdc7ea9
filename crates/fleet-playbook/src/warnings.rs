//! Load-time warnings: what fleet accepts but an Ansible user should hear
//! about (a legacy `include:`, a condition wrapped in `{{ }}`). They are
//! collected while [`crate::load`] reads the playbook, on its thread, and
//! handed over in [`crate::Playbook::warnings`]; reading never stops on one.

use std::cell::RefCell;

use fleet_yaml::{Diagnostic, Location};

thread_local! {
    static COLLECTED: RefCell<Vec<Diagnostic>> = const { RefCell::new(Vec::new()) };
}

/// Records a warning at `location`; the same one twice is kept once (a
/// task file included twice is read twice).
pub(crate) fn warn(location: Location, message: impl Into<String>, hint: impl Into<String>) {
    let warning = Diagnostic::hinted(location, message, hint);
    COLLECTED.with(|collected| {
        let mut collected = collected.borrow_mut();
        if !collected.contains(&warning) {
            collected.push(warning);
        }
    });
}

/// Starts a new collection (a load that failed may have left some).
pub(crate) fn start() {
    COLLECTED.with(|collected| collected.borrow_mut().clear());
}

/// The warnings since [`start`], in the order they were found.
pub(crate) fn take() -> Vec<Diagnostic> {
    COLLECTED.with(|collected| std::mem::take(&mut *collected.borrow_mut()))
}
