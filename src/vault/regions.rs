//! Azure region pairs and Microsoft 365 data locations, for the setup rules on where the two
//! vaults are. Regions are Azure's lower-case names; geographies are [`super::model::geography`]'s.

use super::model::geography;

/// Azure's region pairs (cross-region replication): one regional outage can take both of a
/// pair's regions' services while Microsoft fails over between them. Some pairs are one-way
/// (westus3's pair is eastus, whose own pair is westus); each entry counts both ways.
const PAIRS: &[(&str, &str)] = &[
    ("eastus", "westus"),
    ("eastus2", "centralus"),
    ("northcentralus", "southcentralus"),
    ("westus2", "westcentralus"),
    ("westus3", "eastus"),
    ("canadacentral", "canadaeast"),
    ("brazilsouth", "southcentralus"),
    ("brazilsoutheast", "brazilsouth"),
    ("northeurope", "westeurope"),
    ("uksouth", "ukwest"),
    ("francecentral", "francesouth"),
    ("germanywestcentral", "germanynorth"),
    ("switzerlandnorth", "switzerlandwest"),
    ("norwayeast", "norwaywest"),
    ("swedencentral", "swedensouth"),
    ("eastasia", "southeastasia"),
    ("australiaeast", "australiasoutheast"),
    ("australiacentral", "australiacentral2"),
    ("japaneast", "japanwest"),
    ("koreacentral", "koreasouth"),
    ("centralindia", "southindia"),
    ("westindia", "southindia"),
    ("southafricanorth", "southafricawest"),
    ("uaenorth", "uaecentral"),
];

/// Whether two regions are an Azure region pair.
pub fn paired(a: &str, b: &str) -> bool {
    PAIRS.iter().any(|(x, y)| {
        (a.eq_ignore_ascii_case(x) && b.eq_ignore_ascii_case(y))
            || (a.eq_ignore_ascii_case(y) && b.eq_ignore_ascii_case(x))
    })
}

/// Microsoft 365's data locations (multi-geo codes) and the geographies whose regions are
/// close to them. EUR covers the European Union's and its neighbours' regions, NAM the United
/// States' and Canada's; the others are their own country's.
const DATA_LOCATIONS: &[(&str, &[&str])] = &[
    ("NAM", &["UnitedStates", "Canada"]),
    (
        "EUR",
        &[
            "Europe",
            "France",
            "Germany",
            "Switzerland",
            "Norway",
            "Sweden",
        ],
    ),
    ("GBR", &["UnitedKingdom"]),
    ("CAN", &["Canada"]),
    ("AUS", &["Australia"]),
    ("JPN", &["Japan"]),
    ("IND", &["India"]),
    ("KOR", &["Korea"]),
    ("FRA", &["France"]),
    ("DEU", &["Germany"]),
    ("CHE", &["Switzerland"]),
    ("NOR", &["Norway"]),
    ("SWE", &["Sweden"]),
    ("ZAF", &["SouthAfrica"]),
    ("ARE", &["UAE"]),
    ("BRA", &["Brazil"]),
    ("APC", &["AsiaPacific"]),
];

/// The data location codes -DataLocation takes (besides a geography or an Azure region).
pub fn data_location_codes() -> Vec<&'static str> {
    DATA_LOCATIONS.iter().map(|(code, _)| *code).collect()
}

/// The regions' test for -DataLocation: a data location code (EUR), a geography (Europe) or
/// an Azure region (westeurope, standing for its geography). None: not one of those.
pub fn data_location(given: &str) -> Option<Vec<String>> {
    let text = given.trim();
    if let Some((_, geographies)) = DATA_LOCATIONS
        .iter()
        .find(|(code, _)| code.eq_ignore_ascii_case(text))
    {
        return Some(geographies.iter().map(|g| g.to_string()).collect());
    }
    let known_geography = DATA_LOCATIONS
        .iter()
        .flat_map(|(_, geographies)| geographies.iter())
        .find(|g| g.eq_ignore_ascii_case(text));
    if let Some(g) = known_geography {
        return Some(vec![g.to_string()]);
    }
    let region = geography(text);
    // geography() answers the region itself for a region it does not know.
    (!region.eq_ignore_ascii_case(text)).then(|| vec![region])
}

/// Whether a vault in `location` is in one of the geographies `data_location` gave.
pub fn in_data_location(location: &str, geographies: &[String]) -> bool {
    let g = geography(location);
    geographies.iter().any(|w| w.eq_ignore_ascii_case(&g))
}

/// A region for a new vault: in the data location group of `near`, neither `keep` nor its
/// pair (so that the two vaults end up apart and unpaired). None when the table has none.
pub fn alternative_region(keep: &str, near: &str) -> Option<&'static str> {
    let group = group_of(near);
    PAIRS.iter().flat_map(|(a, b)| [*a, *b]).find(|r| {
        !r.eq_ignore_ascii_case(keep)
            && !paired(r, keep)
            && group.iter().any(|g| g.eq_ignore_ascii_case(&geography(r)))
    })
}

/// The geographies close to a region: its data location's when it belongs to one.
fn group_of(region: &str) -> Vec<String> {
    let g = geography(region);
    DATA_LOCATIONS
        .iter()
        .find(|(_, geographies)| {
            geographies.len() > 1 && geographies.iter().any(|x| x.eq_ignore_ascii_case(&g))
        })
        .map(|(_, geographies)| geographies.iter().map(|x| x.to_string()).collect())
        .unwrap_or_else(|| vec![g])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_count_both_ways_and_data_locations_name_geographies() {
        assert!(paired("westeurope", "northeurope"));
        assert!(paired("NorthEurope", "westeurope"));
        assert!(!paired("westeurope", "francecentral"));
        assert_eq!(data_location("eur").unwrap()[0], "Europe");
        assert_eq!(data_location("westeurope").unwrap(), ["Europe"]);
        assert_eq!(data_location("Japan").unwrap(), ["Japan"]);
        assert!(data_location("atlantis").is_none());
        assert!(in_data_location(
            "francecentral",
            &data_location("EUR").unwrap()
        ));
        assert!(!in_data_location("eastus", &data_location("EUR").unwrap()));
        assert_eq!(
            alternative_region("westeurope", "northeurope"),
            Some("francecentral")
        );
        assert_eq!(alternative_region("eastus", "eastus"), Some("eastus2"));
    }
}
