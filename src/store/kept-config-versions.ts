/** How many config versions a store keeps (the active one and a few before it, for config_dump/debugging). */
export const KEPT_CONFIG_VERSIONS = 5;
