"""The seat console (坐席工作台, issue 13): the page, its WebRTC phone and the browser SIP library."""
