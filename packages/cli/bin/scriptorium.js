#!/usr/bin/env node
// The installed command: the built CLI (`npm run build` makes dist/). A file of its own, so npm can link it at install
// time, before the first build.
import "../dist/main.js"
