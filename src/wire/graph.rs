//! Microsoft Graph's directory objects as the principal lookups read them (users/{upn},
//! servicePrincipals, directoryObjects/getByIds); a collection is a `keyvault::ListResult`.

use serde::{Deserialize, Serialize};

bodies! {
    /// A user, a service principal or a group; `@odata.type` says which in getByIds' answer.
    #[serde(rename_all = "camelCase")]
    pub struct DirectoryObject {
        #[serde(rename = "@odata.type")]
        pub odata_type: Option<String>,
        pub id: Option<String>,
        pub app_id: Option<String>,
        pub display_name: Option<String>,
        pub user_principal_name: Option<String>,
        pub service_principal_names: Option<Vec<String>>,
        pub service_principal_type: Option<String>,
    }

    /// `POST /v1.0/directoryObjects/getByIds`: the ids, of the types named (any when none is).
    pub struct GetByIdsParameters {
        pub ids: Vec<String>,
        #[serde(default)]
        pub types: Vec<String>,
    }
}
