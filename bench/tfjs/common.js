// Paths shared by the tfjs benchmark's driver and worker.
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../..", import.meta.url));
