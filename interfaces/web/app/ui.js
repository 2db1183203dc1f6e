// Preact with htm: components written as tagged templates, no build step.
import { h, render } from "preact";
import htm from "htm";

export { render };
export { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
export const html = htm.bind(h);
