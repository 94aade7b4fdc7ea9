//! pg_hba.conf's address and netmask fields, as community.postgresql's
//! `postgresql_pg_hba` reads them with Python's `ipaddress`.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Source, strip_quotes};

/// An address field: an IP network (host bits refused), a bare IP
/// (prefix `None`), or a host name or keyword.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Address {
    V4(u32, Option<u8>),
    V6(u128, Option<u8>),
    Host(String),
}

fn ip_network(text: &str) -> Result<Option<Address>, String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (text, None),
    };
    if let Ok(v4) = addr.parse::<Ipv4Addr>() {
        let len = match prefix {
            None => None,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse::<u8>() {
                    Ok(n) if n <= 32 => Some(n),
                    _ => return Ok(None),
                }
            }
            Some(p) => match p
                .parse::<Ipv4Addr>()
                .ok()
                .and_then(|m| mask_len(u32::from(m).into(), 32))
            {
                Some(n) => Some(n),
                None => return Ok(None),
            },
        };
        let bits = u32::from(v4);
        if let Some(n) = len
            && bits & !mask32(n) != 0
        {
            return Err(format!("{text} has host bits set"));
        }
        return Ok(Some(Address::V4(bits, len)));
    }
    if let Ok(v6) = addr.parse::<Ipv6Addr>() {
        let len = match prefix {
            None => None,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse::<u8>() {
                    Ok(n) if n <= 128 => Some(n),
                    _ => return Ok(None),
                }
            }
            Some(_) => return Ok(None),
        };
        let bits = u128::from(v6);
        if let Some(n) = len
            && bits & !mask128(n) != 0
        {
            return Err(format!("{text} has host bits set"));
        }
        return Ok(Some(Address::V6(bits, len)));
    }
    Ok(None)
}

fn mask32(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len) }
}

fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    }
}

/// The prefix length of a netmask, `None` when a 1 follows a 0.
fn mask_len(bits: u128, width: u32) -> Option<u8> {
    let ones = bits.count_ones();
    let expected = if ones == 0 {
        0
    } else {
        (u128::MAX >> (128 - width)) & !((1u128 << (width - ones)) - 1)
    };
    (bits == expected).then_some(ones as u8)
}

pub(crate) fn address_field(text: &str) -> Result<Address, String> {
    if let Some(address) = ip_network(text)? {
        return Ok(address);
    }
    if text.starts_with('"') {
        let inner = address_field(strip_quotes(text))?;
        if !matches!(inner, Address::Host(_)) {
            return Ok(inner);
        }
    }
    let looks_v4 = {
        let bare = text.trim_matches('"');
        let (addr, _) = bare.split_once('/').unwrap_or((bare, ""));
        let parts: Vec<&str> = addr.split('.').collect();
        parts.len() == 4
            && parts
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if text.contains([':', '\\', '/', '@', '+', ' ']) || looks_v4 {
        return Err(format!(
            "The string '{text}' is neither a valid IP address, network, hostname or keyword"
        ));
    }
    Ok(Address::Host(text.to_string()))
}

/// A netmask field: its prefix length and whether it is IPv6.
pub(crate) fn netmask_field(text: &str) -> Result<(u8, bool), String> {
    let mask = strip_quotes(text);
    let (bits, width, v6) = if let Ok(v4) = mask.parse::<Ipv4Addr>() {
        (u128::from(u32::from(v4)), 32, false)
    } else if let Ok(v6) = mask.parse::<Ipv6Addr>() {
        (u128::from(v6), 128, true)
    } else {
        return Err(format!("The string '{mask}' is not a valid netmask"));
    };
    match mask_len(bits, width) {
        Some(len) => Ok((len, v6)),
        None => Err(format!(
            "IP mask {mask} is invalid (binary value has 1 after 0)"
        )),
    }
}

pub(crate) fn source_of(address: &Address, mask: Option<(u8, bool)>) -> Result<Source, String> {
    Ok(match (address, mask) {
        (Address::Host(name), _) => Source::Host(name.clone()),
        (Address::V4(bits, Some(len)), _) => Source::V4(*bits, *len),
        (Address::V6(bits, Some(len)), _) => Source::V6(*bits, *len),
        (Address::V4(bits, None), Some((len, false))) => Source::V4(bits & mask32(len), len),
        (Address::V6(bits, None), Some((len, true))) => Source::V6(bits & mask128(len), len),
        (_, Some(_)) => return Err("Can't mix IPv4 and IPv6 netmasks and addresses".into()),
        (_, None) => {
            return Err("If the address is a bare ip-address without a CIDR suffix, the rule needs to contain a netmask".into());
        }
    })
}
