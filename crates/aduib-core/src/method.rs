//! Method names: `rpc.v2/<service>/<Handler>.<method>`.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The prefix every v2 method name starts with.
pub const METHOD_PREFIX: &str = "rpc.v2/";

/// A parsed v2 method name such as `rpc.v2/CaculService/CaculService.add`.
///
/// `service` is the routing segment (the instance's service name or the handler's
/// name); `handler` and `function` together form the key a server dispatches on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MethodName {
    pub service: String,
    pub handler: String,
    pub function: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid method name {input:?}: {reason}; expected rpc.v2/<service>/<Handler>.<method>")]
pub struct MethodNameError {
    pub input: String,
    pub reason: &'static str,
}

impl MethodName {
    pub fn new(
        service: impl Into<String>,
        handler: impl Into<String>,
        function: impl Into<String>,
    ) -> Self {
        MethodName {
            service: service.into(),
            handler: handler.into(),
            function: function.into(),
        }
    }

    /// Parses the canonical form only.
    pub fn parse(input: &str) -> Result<MethodName, MethodNameError> {
        let fail = |reason| MethodNameError {
            input: input.to_owned(),
            reason,
        };
        let rest = input
            .strip_prefix(METHOD_PREFIX)
            .ok_or_else(|| fail("missing the `rpc.v2/` prefix"))?;
        let (service, handler_key) = rest
            .split_once('/')
            .ok_or_else(|| fail("missing the `/` between service and handler"))?;
        let (handler, function) = handler_key
            .rsplit_once('.')
            .ok_or_else(|| fail("the handler part must be `<Handler>.<method>`"))?;
        if [service, handler, function]
            .iter()
            .any(|part| part.is_empty() || part.contains('/'))
        {
            return Err(fail("service, handler and method must be non-empty"));
        }
        Ok(MethodName::new(service, handler, function))
    }

    /// Parses what a person may type: the canonical form, the legacy dotted
    /// `Service.Handler.method`, or the shorthand `Service.method` (handler named
    /// like the service).
    pub fn parse_lenient(input: &str) -> Result<MethodName, MethodNameError> {
        if input.starts_with(METHOD_PREFIX) {
            return MethodName::parse(input);
        }
        let parts: Vec<&str> = input.split('.').collect();
        if parts.iter().any(|p| p.is_empty() || p.contains('/')) {
            return Err(MethodNameError {
                input: input.to_owned(),
                reason: "not a method name",
            });
        }
        match parts.as_slice() {
            [service, function] => Ok(MethodName::new(*service, *service, *function)),
            [service, handler, function] => Ok(MethodName::new(*service, *handler, *function)),
            _ => Err(MethodNameError {
                input: input.to_owned(),
                reason: "use `Service.method`, `Service.Handler.method` or the full name",
            }),
        }
    }

    /// The key a server's handler registry uses: `Handler.method`.
    pub fn handler_key(&self) -> String {
        format!("{}.{}", self.handler, self.function)
    }
}

impl fmt::Display for MethodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{METHOD_PREFIX}{}/{}.{}",
            self.service, self.handler, self.function
        )
    }
}

impl FromStr for MethodName {
    type Err = MethodNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MethodName::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_the_canonical_form() {
        let name = MethodName::parse("rpc.v2/CaculService/CaculService.add").unwrap();
        assert_eq!(name, MethodName::new("CaculService", "CaculService", "add"));
        assert_eq!(name.handler_key(), "CaculService.add");
        assert_eq!(name.to_string(), "rpc.v2/CaculService/CaculService.add");
    }

    #[test]
    fn rejects_other_shapes_with_the_reason() {
        for bad in [
            "CaculService.add",
            "rpc.v2/CaculService",
            "rpc.v2/CaculService/add",
            "rpc.v2//CaculService.add",
            "rpc.v2/S/H.",
            "rpc.v2/S/a/H.m",
        ] {
            let err = MethodName::parse(bad).unwrap_err();
            assert!(err.to_string().contains("expected rpc.v2/"), "{bad}: {err}");
        }
    }

    #[test]
    fn lenient_forms_expand() {
        assert_eq!(
            MethodName::parse_lenient("CaculService.add")
                .unwrap()
                .to_string(),
            "rpc.v2/CaculService/CaculService.add"
        );
        assert_eq!(
            MethodName::parse_lenient("App.CaculService.add")
                .unwrap()
                .to_string(),
            "rpc.v2/App/CaculService.add"
        );
        assert!(MethodName::parse_lenient("add").is_err());
        assert!(MethodName::parse_lenient("a..b").is_err());
    }
}
