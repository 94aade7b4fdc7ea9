pub mod apply;
pub mod extra_vars;
pub mod inventory;
pub mod listing;
pub mod release;
pub mod run;
pub mod start_at;
