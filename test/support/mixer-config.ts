// Mixer-era policy config for the tests: one config.istio.io/v1alpha2
// document (handler, instance, rule) in istio-system.

/** Takes a kind, a name and the spec's YAML lines; returns the YAML document (join several with '---\n'). */
export function mixerDoc(kind: string, name: string, spec: string): string {
  return `apiVersion: config.istio.io/v1alpha2\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: istio-system\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}
