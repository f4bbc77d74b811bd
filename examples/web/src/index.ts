import { keepFragmentInLinks } from "./connection.js";

keepFragmentInLinks();
