// Style sheets are bundled by esbuild into the page's one <style>.
declare module '*.css'
