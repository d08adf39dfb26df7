"""The unit portal (承办单位门户): a static page for member units' users, served by the controller."""
