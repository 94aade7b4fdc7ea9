pub mod apply;
pub mod inventory;
pub mod release;
pub mod run;
