//! After scoring, the checks a data team runs before a retrained model's list reaches the
//! CS team: has the data shifted under the model ([`drift`]), and how much did the list
//! change since the previous run, and why ([`stability`]). The challenger-against-champion
//! comparison belongs to training ([`crate::train::compare`]).

pub mod drift;
pub(crate) mod stability;
