/// The gateway's version, as nodes report it in the cluster registry.
public enum ScutumVersion {
    public static let current = "0.6.0"
}
